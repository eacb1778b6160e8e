"""Loading the base model, the tokenizer and the LoRA adapter the way the recipe says.

Anything this machine cannot do (4-bit without bitsandbytes+CUDA, bf16 on a CPU that lacks it)
is mapped to an explicit equivalent and reported as a `warn` event, never silently.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch

from .events import WorkerError, info, warn
from .params import EvalParamsQuantize, TrainParamsMethodLora, TrainParamsModelQuantize

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def has_bitsandbytes() -> bool:
    return importlib.util.find_spec("bitsandbytes") is not None


def resolve_device(requested: str) -> torch.device:
    """`cuda` must exist when asked for; `auto` takes CUDA when present."""
    if requested == "cuda":
        if not torch.cuda.is_available():
            raise WorkerError(
                "CudaUnavailable",
                f"device 'cuda' was requested but torch {torch.__version__} sees no CUDA device",
                "Run on a machine with an NVIDIA GPU and a CUDA build of torch, or set device: 'cpu'.",
                exit_code=69,
            )
        return torch.device("cuda")
    if requested == "auto" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def resolve_dtype(name: str, device: torch.device, node: str) -> torch.dtype:
    """`auto`: bf16 on a CUDA device that supports it, else float32 (fp16 training needs loss scaling)."""
    if name == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if name == "float16" and device.type == "cpu":
        warn(node, "model.dtype 'float16' is slow and unstable on CPU; using float32 weights instead")
        return torch.float32
    return DTYPES[name]


def load_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    template = folder.parent / "chat_template.jinja"
    if getattr(tok, "chat_template", None) is None and template.exists():
        tok.chat_template = template.read_text()
    return tok


def quantization_config(quantize: TrainParamsModelQuantize | EvalParamsQuantize | None, device: torch.device, dtype: torch.dtype, node: str):
    """BitsAndBytesConfig when bitsandbytes and CUDA are present; otherwise None and a warning."""
    if quantize is None:
        return None
    bits, qtype = quantize.bits, quantize.type
    if device.type != "cuda" or not has_bitsandbytes():
        why = "no CUDA device" if device.type != "cuda" else "bitsandbytes is not installed"
        warn(
            node,
            f"model.quantize {{ bits: {bits}, type: '{qtype}' }} needs bitsandbytes on CUDA ({why}); "
            f"loading unquantised {str(dtype).replace('torch.', '')} weights instead "
            f"({32 // bits if dtype == torch.float32 else 16 // bits}x the weight memory)",
        )
        return None
    from transformers import BitsAndBytesConfig

    if bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True)
    if quantize.block_size != 64:
        warn(node, f"model.quantize.blockSize {quantize.block_size} is fixed at 64 by bitsandbytes; using 64")
    compute = DTYPES[quantize.compute_dtype]
    if device.type == "cuda" and dtype == torch.bfloat16 and compute == torch.float32:
        compute = torch.bfloat16  # the QLoRA setting: matmuls in bf16 on bf16 hardware
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=qtype,
        bnb_4bit_use_double_quant=quantize.double_quant,
        bnb_4bit_compute_dtype=compute,
    )


def attention_kind(device: torch.device, dtype: torch.dtype, packed: bool) -> str:
    """FlashAttention-2 on CUDA in bf16/fp16 when `flash_attn` is installed and no row is packed
    (packed rows need the block-diagonal 4-D mask, which only SDPA takes); SDPA otherwise."""
    if device.type == "cuda" and dtype in (torch.bfloat16, torch.float16) and not packed and importlib.util.find_spec("flash_attn"):
        return "flash_attention_2"
    return "sdpa"


def unwrapped(model):
    """The transformers model under torch.compile's, DDP's and PEFT's wrappers (PEFT's layers stay in it)."""
    for name in ("_orig_mod", "module"):
        model = getattr(model, name, model)
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def load_base(folder: Path, dtype: torch.dtype, device: torch.device, quant=None, attention: str = "sdpa", reward_pad_id: int | None = None):
    """The causal LM, or with `reward_pad_id` the reward model's AutoModelForSequenceClassification
    (num_labels 1; its new `score` head is replaced by the driver's seeded one, the initial adapter's)."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    kwargs = {"dtype": dtype, "attn_implementation": attention}
    if quant is not None:
        kwargs["quantization_config"] = quant
        kwargs["device_map"] = {"": device.index or 0}
    if reward_pad_id is not None:
        from transformers.utils import logging

        logging.set_verbosity_error()  # "score.weight newly initialized": the driver's head replaces it
        model = AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=1, pad_token_id=reward_pad_id, **kwargs)
    elif is_vision_folder(folder):
        # LLaVA, Qwen2-VL: transformers' own *ForConditionalGeneration (vision tower, projector, language model)
        from transformers import AutoModelForImageTextToText

        model = AutoModelForImageTextToText.from_pretrained(str(folder), **kwargs)
    else:
        model = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)
    if quant is None:
        model.to(device)
    return model


def is_vision_folder(folder: Path) -> bool:
    """Whether a model folder's config.json is a vision-language model's (vision.py's TOWER)."""
    from .vision import TOWER

    config = Path(folder) / "config.json"
    return config.exists() and json.loads(config.read_text()).get("model_type") in TOWER


def resize_embeddings(model, vocab: int, node: str) -> int:
    """Grows the embeddings to the tokenizer (added tokens). New rows are the mean of the old rows,
    deterministically, so both backends (and merge) start from the same weights. Returns the count."""
    old = model.get_input_embeddings().weight.shape[0]
    if vocab <= old:
        return 0
    model.resize_token_embeddings(vocab, mean_resizing=False)
    with torch.no_grad():
        for emb in {id(m): m for m in (model.get_input_embeddings(), model.get_output_embeddings()) if m is not None}.values():
            w = emb.weight
            w[old:] = w[:old].double().mean(0, keepdim=True).to(w.dtype)
    info(node, f"added {vocab - old} token(s): embeddings resized {old} -> {vocab} (new rows = mean of the old rows)")
    return vocab - old


def lora_config(lora: TrainParamsMethodLora, model_id: str, token_ids: list[int], exclude: str | None = None):
    """PEFT's LoraConfig of the train node's method; `token_ids` from the tokenize artifact (trainableTokenIds);
    `exclude`: PEFT's exclude_modules regex (a vision tower)."""
    from peft import LoraConfig

    cfg = LoraConfig(
        r=lora.rank,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        modules_to_save=list(lora.modules_to_save) or None,
        trainable_token_indices={"embed_tokens": token_ids} if token_ids else None,
        use_rslora=lora.rs_lora,
        use_dora=lora.use_dora,
        # PiSSA / LoftQ: PEFT computes A, B and the replaced base weights itself (pissa_init, loftq_init)
        init_lora_weights=lora.init_lora_weights if lora.init_lora_weights is not True else "gaussian" if lora.init == "gaussian" else True,
        **({"loftq_config": loftq_config(lora)} if lora.init_lora_weights == "loftq" else {}),
        bias="none",
        # the reward head saved in full is a sequence classifier's (PEFT's SEQ_CLS keeps `score` in modules_to_save)
        task_type="SEQ_CLS" if "score" in lora.modules_to_save else "CAUSAL_LM",
        # a vision-language model's frozen tower (vision.py): LLaVA's CLIP q/k/v_proj share the decoder's names
        **({"exclude_modules": exclude} if exclude else {}),
    )
    cfg.base_model_name_or_path = model_id
    return cfg


def loftq_config(lora: TrainParamsMethodLora):
    """PEFT's LoftQConfig for init_lora_weights 'loftq'; LoftqUnavailable (TK389) where PEFT's
    loftq_init cannot run: it quantises with bitsandbytes on compute_device "cuda" (or "xpu")."""
    from peft import LoftQConfig
    from peft.import_utils import is_bnb_4bit_available, is_bnb_available, is_xpu_available

    if not is_bnb_available() or not is_bnb_4bit_available():
        raise WorkerError("LoftqUnavailable", "import bitsandbytes failed")
    if not torch.cuda.is_available() and not is_xpu_available():
        raise WorkerError("LoftqUnavailable", "torch.cuda.is_available() is False")
    c = lora.loftq_config  # absent: PEFT's LoftQConfig defaults, which the recipe schema's equal
    return LoftQConfig(loftq_bits=c.loftq_bits, loftq_iter=c.loftq_iter) if c else LoftQConfig()


def loftq_base(peft_model) -> dict[str, torch.Tensor]:
    """LoftQ's replaced base weights by transformers name (`model.layers.0.self_attn.q_proj.weight`), float32
    on the CPU: what @tunekit/hf's peft/loftq.ts keeps beside the adapter (loftq_base.safetensors)."""
    from peft.tuners.lora import LoraLayer

    prefix = "base_model.model."
    return {f"{name[len(prefix):]}.weight": m.get_base_layer().weight.detach().to("cpu", torch.float32).contiguous()
            for name, m in peft_model.named_modules() if isinstance(m, LoraLayer)}


def starts_from_weights(lora: TrainParamsMethodLora) -> bool:
    """PiSSA: PEFT computes lora_A / lora_B from the base weights, so the driver's initial adapter has none."""
    return lora.init_lora_weights is not True


def load_adapter_weights(peft_model, folder: Path, node: str, computed: tuple[str, ...] = ()) -> None:
    """Loads an adapter in PEFT layout (e.g. the seeded initial adapter from the TS side); tensors
    whose names contain one of `computed` (PiSSA's lora_A / lora_B) may be absent: PEFT computed them."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = load_file(str(folder / "adapter_model.safetensors"))
    result = set_peft_model_state_dict(peft_model, weights)
    unexpected = [k for k in getattr(result, "unexpected_keys", []) or []]
    if unexpected:
        raise WorkerError("WorkerFailed", f"{folder}: adapter keys not in the model: {unexpected[:5]}")
    # every trainable tensor must come from the file (base weights are "missing" by design)
    trainable = {n.replace(".default", "") for n, p in peft_model.named_parameters() if p.requires_grad}
    missing = [k for k in (getattr(result, "missing_keys", []) or []) if k.replace(".default", "") in trainable and not any(c in k for c in computed)]
    if missing:
        raise WorkerError("WorkerFailed", f"{folder}: adapter lacks {len(missing)} trained tensor(s), e.g. {missing[:3]}")


def adapter_state(peft_model) -> dict[str, torch.Tensor]:
    from peft import get_peft_model_state_dict

    return get_peft_model_state_dict(peft_model, save_embedding_layers=False)


def adapter_key_of_params(peft_model) -> dict[str, torch.nn.Parameter]:
    """Adapter key (PEFT's saved name) -> trainable parameter, for optimizer state in checkpoints."""
    from peft import get_peft_model_state_dict

    trainable = {n: p for n, p in peft_model.named_parameters() if p.requires_grad}
    mapped = get_peft_model_state_dict(peft_model, state_dict=dict(trainable), save_embedding_layers=False)
    by_id = {id(p): p for p in trainable.values()}
    out = {k: by_id[id(v)] for k, v in mapped.items() if id(v) in by_id}
    if len(out) != len(trainable):
        raise WorkerError("WorkerFailed", f"cannot name {len(trainable) - len(out)} trainable tensor(s) in PEFT's layout")
    return out


def pissa_to_lora(state: dict[str, torch.Tensor], start: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A trained PiSSA adapter as a plain LoRA of the original base, PEFT's LoraModel.subtract_mutated_init:
    ΔW = B·A − B0·A0 = [B | −B0]·[A ; A0] (rank 2r; adapter_config.json doubles r and alpha). Unlike
    PEFT's, every other tensor (modules_to_save, trainable tokens) is kept as trained."""
    out = dict(state)
    for k, v in state.items():
        if ".lora_A." in k:
            out[k] = torch.cat([v, start[k]], dim=0)
        elif ".lora_B." in k:
            out[k] = torch.cat([v, -start[k]], dim=1)
    return out


def save_adapter(peft_model, folder: Path, with_config: bool = True, pissa_start: dict[str, torch.Tensor] | None = None,
                 loftq: dict[str, torch.Tensor] | None = None) -> None:
    """adapter_model.safetensors, plus PEFT's own adapter_config.json for checkpoints (`with_config`);
    a train artifact's config is written by the TS driver in the form old PEFT versions load. With
    `pissa_start` (a PiSSA train artifact) the tensors are converted (pissa_to_lora); checkpoints
    keep the rank-r tensors of the residual base. With `loftq` (a LoftQ train artifact) its replaced base
    weights go beside the adapter (loftq_base.safetensors)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in adapter_state(peft_model).items()}
    if pissa_start is not None:
        state = pissa_to_lora(state, pissa_start)
    save_file(state, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
    if loftq is not None:
        save_file(loftq, str(folder / "loftq_base.safetensors"), metadata={"format": "pt"})
    if with_config:
        peft_model.peft_config["default"].save_pretrained(str(folder))


def read_adapter_config(folder: Path) -> dict:
    return json.loads((folder / "adapter_config.json").read_text())


def count_params(model) -> tuple[int, int]:
    """(trainable, all) parameters: PEFT's own get_nb_trainable_parameters() on a PEFT model (what
    print_trainable_parameters() prints; plan's count is checked against it), else by requires_grad."""
    if hasattr(model, "get_nb_trainable_parameters"):
        return model.get_nb_trainable_parameters()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
