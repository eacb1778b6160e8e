"""The training methods on transformers, keyed by kind as in @tunekit/core's `methods` registry.

- lora:   PEFT's own LoraConfig (get_peft_model); the artifact is a PEFT adapter folder.
- full:   every parameter requires_grad; the artifact is the trained model (save_pretrained).
- freeze: requires_grad only on the tensors LLaMA-Factory's freeze rule picks; the artifact is
          those tensors under their transformers names (trained_tensors.safetensors).
- llama-pro: the base expanded in place (expand_blocks, LLaMA-Factory's llama_pro.py), only the added
          blocks train; the artifact is the expanded model (save_pretrained), as full's.
- ia3, prompt-tuning, p-tuning, prefix-tuning: PEFT's own IA3Config / PromptTuningConfig /
          PromptEncoderConfig / PrefixTuningConfig; the artifact is a PEFT adapter folder, as
          LoRA's (adapter_config.json's peft_type tells them apart).
full and freeze write `tunekit_method.json` (docs/architecture.md, "Train artifact per method"),
the same files @tunekit/hf's peft/full.ts and peft/freeze.ts write, so either backend reads either's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from .vision import freeze_parts, lora_exclude, tower_pattern
from .events import WorkerError, warn
from .params import (
    TrainParamsMethodFreeze,
    TrainParamsMethodFull,
    TrainParamsMethodIa3,
    TrainParamsMethodLlamaPro,
    TrainParamsMethodLora,
    TrainParamsMethodPrefixTuning,
    TrainParamsMethodPromptTuning,
    TrainParamsMethodPTuning,
)

METHOD_FILE = "tunekit_method.json"
# adapter_config.json's peft_type -> tunekit's method kind (any other type is read as LoRA, which names the problem)
PEFT_KINDS = {"LORA": "lora", "IA3": "ia3", "PROMPT_TUNING": "prompt-tuning", "P_TUNING": "p-tuning", "PREFIX_TUNING": "prefix-tuning"}
# the prompt encoder's parameter names in a checkpoint (@tunekit/hf's PROMPT_ENCODER)
PROMPT_ENCODER = "prompt_encoder.default."
FREEZE_WEIGHTS = "trained_tensors.safetensors"


def artifact_kind(folder: Path) -> str:
    """Which method wrote a train artifact (or checkpoint): a PEFT adapter, or tunekit_method.json's kind."""
    config = folder / "adapter_config.json"
    if config.exists():
        return PEFT_KINDS.get(json.loads(config.read_text()).get("peft_type"), "lora")
    marker = folder / METHOD_FILE
    if marker.exists():
        return json.loads(marker.read_text())["kind"]
    raise WorkerError("WorkerFailed", f"{folder} holds no train artifact (no adapter_config.json, no {METHOD_FILE})")


def _trainable_float32(model) -> None:
    # Trainable tensors in float32 even over a bf16 base, so the optimizer updates are not lost to rounding.
    for p in model.parameters():
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()


def _named_trainable(model) -> dict[str, torch.nn.Parameter]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def _load_named(model, tensors: dict[str, torch.Tensor], folder: Path) -> None:
    params = dict(model.named_parameters())
    unknown = [k for k in tensors if k not in params]
    if unknown:
        raise WorkerError("WorkerFailed", f"{folder}: tensors not in the model: {unknown[:5]}")
    with torch.no_grad():
        for name, t in tensors.items():
            params[name].copy_(t.to(params[name].device, params[name].dtype))


def _check_saved_modules(base, method: TrainParamsMethodLora, model_id: str) -> None:
    """Family 'auto': PEFT wraps no module for a modules_to_save name that matches none, silently;
    the plan read the stored names, which transformers may rename on loading (gpt_neox's stored
    embed_out is the module lm_head), so the loaded model's names decide here."""
    modules = [(n, mod) for n, mod in base.named_modules() if n]
    names = [n for n, _ in modules]
    # the modules outside the decoder layers that hold weights of their own (no dropout, no containers)
    outside = sorted({n.rsplit(".", 1)[-1] for n, mod in modules if not re.search(r"\.\d+(\.|$)", n) and any(True for _ in mod.parameters(recurse=False))})
    for m in method.modules_to_save:
        if not any(n == m or n.endswith(f".{m}") for n in names):
            raise WorkerError("AutoModuleNotFound", f"modules_to_save names {m!r}, which no module of the loaded model matches",
                              args=[m, model_id, base.config.model_type, ",".join(outside)])


def _load_vision_full(model, folder: Path) -> None:
    """A vision-language model's full artifact: save_pretrained stores its checkpoint names (LLaVA's
    language_model.model.*), not the module paths, so transformers' own loader reads it and its state
    dict (module paths) goes into `model`."""
    from transformers import AutoModelForImageTextToText

    loaded = AutoModelForImageTextToText.from_pretrained(str(folder), dtype=next(model.parameters()).dtype)
    result = model.load_state_dict(loaded.state_dict(), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise WorkerError("WorkerFailed", f"{folder}: missing {result.missing_keys[:3]}, unexpected {result.unexpected_keys[:3]}")


class Lora:
    """LoRA through PEFT; keys are PEFT's saved names."""

    def wrap(self, base, method: TrainParamsMethodLora, ctx: dict):
        from peft import get_peft_model

        from .modeling import adapter_state, load_adapter_weights, loftq_base, lora_config, starts_from_weights
        from .spec import trainable_token_ids

        cfg = lora_config(method, ctx["model_id"], trainable_token_ids(ctx["tokenize"]), lora_exclude(base, ctx.get("vision")))
        if ctx.get("family") == "auto":
            _check_saved_modules(base, method, ctx["model_id"])
        model = get_peft_model(base, cfg)  # PiSSA / LoftQ: PEFT replaces the adapted base weights here
        model.peft_config["default"].base_model_name_or_path = ctx["model_id"]  # not the local folder
        computed = (".lora_A.", ".lora_B.") if starts_from_weights(method) else ()
        # PiSSA's A0, B0: the train artifact is written converted against them (save)
        model._tunekit_pissa_start = {k: v.detach().to("cpu").clone() for k, v in adapter_state(model).items() if any(c in k for c in computed)} \
            if str(method.init_lora_weights).startswith("pissa") else None
        model._tunekit_loftq_base = loftq_base(model) if method.init_lora_weights == "loftq" else None
        if ctx.get("initial_adapter") is not None:
            load_adapter_weights(model, ctx["initial_adapter"], ctx["node"], computed)
        elif ctx.get("family") != "auto":  # family 'auto' always starts from PEFT's draw (no layout to draw one in TypeScript)
            warn(ctx["node"], "no initial adapter from the driver; using PEFT's own seeded initialisation (not comparable with tfjs)")
        _trainable_float32(model)
        return model

    def keyed_params(self, model) -> dict[str, torch.nn.Parameter]:
        from .modeling import adapter_key_of_params

        return adapter_key_of_params(model)

    def save(self, model, folder: Path, tensors_only: bool = False) -> None:
        from .modeling import save_adapter

        # the train artifact (tensors_only) of a PiSSA run is converted; a checkpoint is not
        save_adapter(model, folder, with_config=not tensors_only, pissa_start=getattr(model, "_tunekit_pissa_start", None) if tensors_only else None,
                     loftq=getattr(model, "_tunekit_loftq_base", None) if tensors_only else None)

    def load(self, model, folder: Path, node: str) -> None:
        from .modeling import load_adapter_weights

        load_adapter_weights(model, folder, node)

    def attach(self, base, folder: Path):
        from peft import PeftModel

        replaced = folder / "loftq_base.safetensors"
        if replaced.exists():
            # LoftQ: the adapter is a plain LoRA of the replaced base (@tunekit/hf's peft/loftq.ts), put in first
            from safetensors.torch import load_file

            _load_named(base, load_file(str(replaced)), folder)
        return PeftModel.from_pretrained(base, str(folder), is_trainable=False)

    def merged(self, base, folder: Path):
        return self.attach(base, folder).merge_and_unload()


class Ia3(Lora):
    """IA³ through PEFT's IA3Config; every vector starts at 1 (init_ia3_weights), as on tfjs, so
    no initial adapter is needed (a checkpoint's is loaded like LoRA's)."""

    def wrap(self, base, method: TrainParamsMethodIa3, ctx: dict):
        from peft import IA3Config, get_peft_model

        # a vision-language model's tower stays frozen (LLaVA's CLIP k/v_proj share the decoder's names)
        exclude = lora_exclude(base, None)
        cfg = IA3Config(target_modules=list(method.target_modules), feedforward_modules=list(method.feedforward_modules),
                        init_ia3_weights=True, task_type="CAUSAL_LM", **({"exclude_modules": exclude} if exclude else {}))
        model = get_peft_model(base, cfg)
        model.peft_config["default"].base_model_name_or_path = ctx["model_id"]
        _trainable_float32(model)
        return model


def _wrap_from_driver_start(kind, model, ctx: dict, missing: str):
    """A prompt-learning PEFT model started from the driver's initial adapter (the draw tfjs starts
    from), loaded by the method's own `load`; `missing` is the error without one."""
    model.peft_config["default"].base_model_name_or_path = ctx["model_id"]
    if ctx.get("initial_adapter") is None:
        raise WorkerError("WorkerFailed", missing)
    kind.load(model, Path(ctx["initial_adapter"]), ctx["node"])
    _trainable_float32(model)
    return model


class PromptTuning(Lora):
    """Prompt tuning through PEFT's PromptTuningConfig, its embeddings loaded from the driver's
    initial adapter (@tunekit/hf's initialPromptEmbeddings: the draw tfjs starts from). PEFT's
    forward prepends the virtual tokens, so its logits are n positions longer (train.py drops them)."""

    def wrap(self, base, method: TrainParamsMethodPromptTuning, ctx: dict):
        from peft import PromptTuningConfig, get_peft_model

        # RANDOM here: PEFT's TEXT init would load tokenizer_name_or_path; the driver drew the TEXT rows already
        cfg = PromptTuningConfig(num_virtual_tokens=method.num_virtual_tokens, prompt_tuning_init="RANDOM", task_type="CAUSAL_LM")
        return _wrap_from_driver_start(self, get_peft_model(base, cfg), ctx, "prompt tuning needs the driver's initial adapter (its virtual tokens' start values)")

    def load(self, model, folder: Path, node: str) -> None:
        # set_peft_model_state_dict copies prompt_embeddings but reports it as an unexpected key of
        # the base model's load, so it is copied here
        from safetensors.torch import load_file

        tensors = load_file(str(folder / "adapter_model.safetensors"))
        if set(tensors) != {"prompt_embeddings"}:
            raise WorkerError("WorkerFailed", f"{folder}: a prompt-tuning adapter holds prompt_embeddings only, not {sorted(tensors)[:5]}")
        weight = model.prompt_encoder["default"].embedding.weight
        with torch.no_grad():
            weight.copy_(tensors["prompt_embeddings"].to(weight.device, weight.dtype))

    def keyed_params(self, model) -> dict[str, torch.nn.Parameter]:
        # PEFT saves the prompt as a copy (get_prompt_embedding_to_save), so the parameter is named here
        return {"prompt_embeddings": model.prompt_encoder["default"].embedding.weight}


class PromptEncoderMethod(Lora):
    """P-tuning and prefix tuning through PEFT's PromptEncoderConfig / PrefixTuningConfig, the
    encoder's parameters copied from the driver's initial adapter (@tunekit/hf's
    initialPromptEncoder: the draw tfjs starts from, under PEFT's parameter names). The artifact is
    PEFT's (`prompt_embeddings`, the encoder's output); a checkpoint adds the encoder's parameters."""

    def peft_config(self, method):
        # abstract: PTuning and PrefixTuning below each build their PEFT config; nothing instantiates this class
        raise NotImplementedError

    def wrap(self, base, method, ctx: dict):
        from peft import get_peft_model

        return _wrap_from_driver_start(self, get_peft_model(base, self.peft_config(method)), ctx,
                                       "P-tuning and prefix tuning need the driver's initial adapter (the prompt encoder's start values)")

    def keyed_params(self, model) -> dict[str, torch.nn.Parameter]:
        return {PROMPT_ENCODER + n: p for n, p in model.prompt_encoder["default"].named_parameters()}

    def load(self, model, folder: Path, node: str) -> None:
        from safetensors.torch import load_file

        tensors = load_file(str(folder / "adapter_model.safetensors"))
        params = self.keyed_params(model)
        missing = [k for k in params if k not in tensors]
        if missing:
            raise WorkerError("WorkerFailed", f"{folder}: lacks the prompt encoder's {missing[:3]} (a train artifact holds its output only, which cannot train on)")
        with torch.no_grad():
            for key, p in params.items():
                p.copy_(tensors[key].to(p.device, p.dtype))

    def save(self, model, folder: Path, tensors_only: bool = False) -> None:
        from safetensors.torch import save_file

        from .modeling import adapter_state

        folder.mkdir(parents=True, exist_ok=True)
        # PEFT's own saved tensor (the encoder's output); a checkpoint keeps the encoder too, to resume
        state = {k: v.detach().to("cpu").contiguous() for k, v in adapter_state(model).items()}
        if not tensors_only:
            state.update({k: p.detach().to("cpu").clone().contiguous() for k, p in self.keyed_params(model).items()})
            model.peft_config["default"].save_pretrained(str(folder))
        save_file(state, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})


class PTuning(PromptEncoderMethod):
    """P-tuning: PEFT's PromptEncoder (MLP, or bidirectional LSTM and MLP) before the input, as prompt tuning's virtual tokens."""

    def peft_config(self, method: TrainParamsMethodPTuning):
        from peft import PromptEncoderConfig

        return PromptEncoderConfig(num_virtual_tokens=method.num_virtual_tokens, encoder_reparameterization_type=method.encoder_reparameterization_type,
                                   encoder_hidden_size=method.encoder_hidden_size, encoder_num_layers=method.encoder_num_layers,
                                   encoder_dropout=method.encoder_dropout, task_type="CAUSAL_LM")


class PrefixTuning(PromptEncoderMethod):
    """Prefix tuning: PEFT's PrefixEncoder, its output every layer's past keys and values."""

    def peft_config(self, method: TrainParamsMethodPrefixTuning):
        from peft import PrefixTuningConfig

        return PrefixTuningConfig(num_virtual_tokens=method.num_virtual_tokens, prefix_projection=method.prefix_projection,
                                  encoder_hidden_size=method.encoder_hidden_size, task_type="CAUSAL_LM")


class Full:
    """Every parameter trains; keys are transformers' parameter names."""

    def wrap(self, base, method: TrainParamsMethodFull, ctx: dict):
        base.requires_grad_(True)
        freeze_parts(base, ctx.get("vision"))  # a vision-language model's tower (by default) stays frozen: model.vision
        _trainable_float32(base)
        return base

    def keyed_params(self, model) -> dict[str, torch.nn.Parameter]:
        return _named_trainable(model)

    def marker(self, model) -> dict:
        """The method file's fields before base_model_name_or_path."""
        return {"kind": "full"}

    def save(self, model, folder: Path, tensors_only: bool = False) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(folder), safe_serialization=True)
        marker = {**self.marker(model), "base_model_name_or_path": getattr(model, "_tunekit_model_id", None)}
        (folder / METHOD_FILE).write_text(json.dumps(marker, indent=2))

    def load(self, model, folder: Path, node: str) -> None:
        from safetensors.torch import load_file

        if tower_pattern(model) is not None:
            return _load_vision_full(model, folder)
        tensors = load_file(str(folder / "model.safetensors"))
        _load_named(model, tensors, folder)
        missing = [n for n in _named_trainable(model) if n not in tensors]
        if missing:
            raise WorkerError("WorkerFailed", f"{folder}: lacks {len(missing)} trained tensor(s), e.g. {missing[:3]}")

    def attach(self, base, folder: Path):
        # the trained model itself: the artifact is a model folder
        self.load(base, folder, "")
        return base

    def merged(self, base, folder: Path):
        return self.attach(base, folder)


def freeze_trained_names(model, method: TrainParamsMethodFreeze) -> list[str]:
    """LLaMA-Factory's freeze rule (model/adapter.py, _setup_freeze_tuning) over named_parameters:
    in the last n (n > 0) or first |n| layers, the parameters of the named modules (`all`: every
    one); outside the layers, the parameters whose module is named in extraModules. Modules are
    matched as whole path segments (LLaMA-Factory matches substrings, so its `norm` also hits
    every layer's `input_layernorm`)."""
    layers = int(model.config.num_hidden_layers)
    n = method.trainable_layers
    ids = set(range(max(0, layers - n), layers) if n > 0 else range(min(-n, layers)))
    modules = method.trainable_modules
    extra = set(method.extra_modules)
    names = []
    for name, _ in model.named_parameters():
        m = re.match(r"^model\.layers\.(\d+)\.(\w+)\.", name)
        if m:
            if int(m.group(1)) in ids and (modules == "all" or m.group(2) in modules):
                names.append(name)
        elif name.split(".")[-2] in extra:
            names.append(name)
    return names


class Freeze:
    """Only the chosen layers' (and named modules') parameters train; keys are their names."""

    def wrap(self, base, method: TrainParamsMethodFreeze, ctx: dict):
        trained = set(freeze_trained_names(base, method))
        for name, p in base.named_parameters():
            p.requires_grad_(name in trained)
        _trainable_float32(base)
        modules = method.trainable_modules
        base._tunekit_freeze = {"trainableLayers": method.trainable_layers, "trainableModules": modules if isinstance(modules, str) else list(modules),
                                "extraModules": list(method.extra_modules)}
        return base

    def keyed_params(self, model) -> dict[str, torch.nn.Parameter]:
        return _named_trainable(model)

    def save(self, model, folder: Path, tensors_only: bool = False) -> None:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        # clone: under FSDP (distributed.full_params) the tensors are views into the all-gather buffer
        tensors = {n: p.detach().to("cpu").clone() for n, p in sorted(_named_trainable(model).items())}
        save_file(tensors, str(folder / FREEZE_WEIGHTS), metadata={"format": "pt"})
        marker = {"kind": "freeze", **model._tunekit_freeze, "tensors": list(tensors), "config": model.config.to_dict(),
                  "base_model_name_or_path": getattr(model, "_tunekit_model_id", None)}
        (folder / METHOD_FILE).write_text(json.dumps(marker, indent=2))

    def load(self, model, folder: Path, node: str) -> None:
        from safetensors.torch import load_file

        tensors = load_file(str(folder / FREEZE_WEIGHTS))
        _load_named(model, tensors, folder)
        missing = [n for n in _named_trainable(model) if n not in tensors]
        if missing:
            raise WorkerError("WorkerFailed", f"{folder}: lacks {len(missing)} trained tensor(s), e.g. {missing[:3]}")

    def attach(self, base, folder: Path):
        from safetensors.torch import load_file

        _load_named(base, load_file(str(folder / FREEZE_WEIGHTS)), folder)
        return base

    def merged(self, base, folder: Path):
        return self.attach(base, folder)


def expand_blocks(model, n: int) -> list[int]:
    """LLaMA-Factory's scripts/llama_pro.py on a loaded model: after every (layers / n)-th decoder layer
    a deep copy of it, with every o_proj and down_proj tensor zero, so the copy adds nothing to the
    residual stream and the expanded model computes the base's function. Renumbers the attention
    layers (the KV cache's index), grows num_hidden_layers (and layer_types). The copies share the
    model's config object. Returns the copies' indices."""
    import copy

    layers = model.model.layers
    num = len(layers)
    if n <= 0 or num % n != 0:
        raise WorkerError("WorkerFailed", f"method.numExpandedBlocks {n} does not divide the model's {num} layers (ExpandedBlocksNotDivisor)")
    split = num // n
    out, added, sources = [], [], []
    for i, layer in enumerate(layers):
        out.append(layer)
        sources.append(i)
        if (i + 1) % split == 0:
            # the copy shares the model's config, as the layers transformers builds do: a config of
            # its own would keep the attention implementation of the moment of the copy (the
            # padding-free segment attention, set later on the model's config, would pass it by)
            block = copy.deepcopy(layer, memo={id(m.config): m.config for m in layer.modules() if hasattr(m, "config")})
            with torch.no_grad():
                for name, p in block.named_parameters():
                    if "o_proj" in name or "down_proj" in name:
                        p.zero_()
            added.append(len(out))
            out.append(block)
            sources.append(i)
    model.model.layers = torch.nn.ModuleList(out)
    for j, layer in enumerate(out):
        layer.self_attn.layer_idx = j
    types = getattr(model.config, "layer_types", None)
    if types:
        model.config.layer_types = [types[i] for i in sources]
    model.config.num_hidden_layers = len(out)
    return added


def llama_pro_trainable_ids(num_layers: int, n: int) -> list[int]:
    """LLaMA-Factory's freeze with use_llama_pro (model/adapter.py, _setup_freeze_tuning) over the
    expanded model's layers: stride = layers // freeze_trainable_layers, ids range(stride - 1, layers + stride - 1, stride)."""
    stride = num_layers // n
    return list(range(stride - 1, num_layers + stride - 1, stride))


class LlamaPro(Full):
    """LLaMA Pro: the base expanded in place (expand_blocks), then only the added blocks train; the
    artifact is the expanded model (save_pretrained) and a method file, as full's is. No merge."""

    def wrap(self, base, method: TrainParamsMethodLlamaPro, ctx: dict):
        added = expand_blocks(base, method.num_expanded_blocks)
        ids = llama_pro_trainable_ids(len(base.model.layers), method.num_expanded_blocks)
        assert ids == added, f"the added blocks {added} are not LLaMA-Factory's trainable layers {ids}"
        base.requires_grad_(False)
        for j in ids:
            base.model.layers[j].requires_grad_(True)
        _trainable_float32(base)
        base._tunekit_llama_pro = method.num_expanded_blocks
        return base

    def marker(self, model) -> dict:
        return {"kind": "llama-pro", "numExpandedBlocks": model._tunekit_llama_pro}

    # keyed_params, save and load are full's: a tfjs checkpoint holds the added blocks only, a torch
    # one the whole expanded model, and load reads whichever trained tensors the folder has

    def attach(self, base, folder: Path):
        n = int(json.loads((folder / METHOD_FILE).read_text())["numExpandedBlocks"])
        expand_blocks(base, n)
        base._tunekit_llama_pro = n
        self.load(base, folder, "")
        return base

    def merged(self, base, folder: Path):
        raise WorkerError("WorkerFailed", f"{folder} is a LLaMA Pro model: it is the merged model already (LlamaProMerge)")


METHODS = {"lora": Lora(), "full": Full(), "freeze": Freeze(), "ia3": Ia3(), "prompt-tuning": PromptTuning(), "p-tuning": PTuning(), "prefix-tuning": PrefixTuning(), "llama-pro": LlamaPro()}


def virtual_tokens(model) -> int:
    """Positions a prompt-learning PEFT model puts before each row (0 for every other model, and for
    prefix tuning, whose prefix is the attention's past: PEFT shifts the given position ids by n)."""
    config = getattr(model, "active_peft_config", None)
    if config is None or not getattr(config, "is_prompt_learning", False) or config.peft_type == "PREFIX_TUNING":
        return 0
    return int(config.num_virtual_tokens)
