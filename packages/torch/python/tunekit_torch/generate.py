"""The generate node (sample generations) and one-off completions for `tunekit chat`."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .events import emit
from .modeling import load_base, load_tokenizer, resize_embeddings, resolve_device
from .params import GenerateParams, ScoreParams
from .spec import NodeSpec, model_folder


def load_for_generation(folder, adapter, device, dtype=None, quant=None):
    """The model (base, or base + adapter) for generation and evaluation; `dtype` / `quant` as training
    loaded the base (None: bf16 on a bf16 GPU, else float32; unquantised)."""
    from .methods import METHODS, artifact_kind

    # an adapter's tokenizer has the tokens added for training (the base folder's does not)
    trained_tok = Path(adapter) / "tokenizer" if adapter else None
    if trained_tok is not None and (trained_tok / "tokenizer.json").exists():
        tokenizer = load_tokenizer(trained_tok)
    elif (folder / "tokenizer.json").exists() or (folder / "tokenizer" / "tokenizer.json").exists():
        tokenizer = load_tokenizer(folder if (folder / "tokenizer.json").exists() else folder / "tokenizer")
    else:
        tokenizer = None  # logits of ids need no tokenizer
    if dtype is None:
        dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    model = load_base(folder, dtype, device, quant)
    if adapter:
        if tokenizer is not None and len(tokenizer) > model.get_input_embeddings().weight.shape[0]:  # added tokens, as in training
            resize_embeddings(model, len(tokenizer), None)
        model = METHODS[artifact_kind(Path(adapter))].attach(model, Path(adapter))
    model.eval()
    return model, tokenizer


_LAST: dict = {}  # the serve process's last model for `complete`: a chat's (or a recipe's) turns load it once


def weights_stamp(folder) -> tuple:
    """What identifies a folder's weights on disk: each safetensors file's name, size and mtime."""
    if folder is None:
        return ()
    return tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in sorted(Path(folder).glob("*.safetensors")))


def cached_for_generation(folder: Path, adapter, device):
    """load_for_generation, kept for the next request of the same model, adapter and weights."""
    key = (str(folder), str(adapter), str(device), weights_stamp(folder), weights_stamp(adapter))
    if _LAST.get("key") != key:
        _LAST.clear()
        _LAST.update(key=key, loaded=load_for_generation(folder, adapter, device))
    return _LAST["loaded"]


def complete(model, tokenizer, text: str, max_new_tokens=128, temperature=0.0, top_k=None, top_p=None, seed=0, on_text=None, vision=None) -> str:
    """Completes already-rendered prompt text; greedy when temperature is 0. `vision`: a vision-language
    model's pixel inputs for the image tokens the text holds (vision.py's batch_images)."""
    from transformers import TextStreamer

    class Stream(TextStreamer):
        def on_finalized_text(self, piece: str, stream_end: bool = False):
            if piece and on_text:
                on_text(piece)

    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(model.device)
    torch.manual_seed(seed)
    sampling = temperature is not None and temperature > 0
    kwargs = {"max_new_tokens": max_new_tokens, "do_sample": sampling, "pad_token_id": tokenizer.pad_token_id or tokenizer.eos_token_id}
    if sampling:
        kwargs.update(temperature=temperature, top_k=top_k or 0, top_p=top_p or 1.0)
    # Stop at the eos the model was trained to emit (tokens.eos, e.g. <|im_end|>) as well as the config's.
    stop = model.generation_config.eos_token_id
    stop = list(stop) if isinstance(stop, (list, tuple)) else ([] if stop is None else [stop])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in stop:
        stop.append(tokenizer.eos_token_id)
    if stop:
        kwargs["eos_token_id"] = stop
    streamer = Stream(tokenizer, skip_prompt=True, skip_special_tokens=True) if on_text else None
    if vision:
        from .vision import forward_inputs

        kwargs.update(forward_inputs(model, {"input_ids": ids["input_ids"], "vision": vision}))
    with torch.no_grad():
        out = model.generate(**ids, streamer=streamer, **kwargs)
    return tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)


def render(tokenizer, prompt: str) -> str:
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
    return prompt


def run_generate(spec: NodeSpec) -> None:
    params: GenerateParams = spec.params
    device = resolve_device(spec.device)
    folder = spec.input_dir("merge") or model_folder(spec.require_input("model"))
    adapter = None if spec.input_dir("merge") else spec.require_input("train")
    model, tokenizer = load_for_generation(folder, adapter, device)
    prompts, max_new = params.samples, params.max_new_tokens
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, prompt in enumerate(prompts):
        completion = complete(model, tokenizer, render(tokenizer, prompt), max_new_tokens=max_new)
        emit({"type": "sample", "node": spec.node, "prompt": prompt, "completion": completion})
        emit({"type": "node-progress", "node": spec.node, "done": i + 1, "total": len(prompts), "unit": "samples"})
        lines.append(json.dumps({"prompt": prompt, "completion": completion}))
    (spec.out_dir / "samples.jsonl").write_text("".join(l + "\n" for l in lines))


def run_complete(request: dict, folder: Path | None = None) -> None:
    """`python -m tunekit_torch complete request.json`: streams {"type":"token"} lines, then the text."""
    device = resolve_device(request["device"])
    model, tokenizer = cached_for_generation(Path(request["model"]), request.get("adapter"), device)
    text = complete(
        model, tokenizer, request["prompt"], max_new_tokens=int(request["maxNewTokens"]),
        temperature=float(request["temperature"]), top_k=request.get("topK"), top_p=request.get("topP"),
        seed=int(request["seed"]), on_text=lambda piece: emit({"type": "token", "text": piece}),
        vision=request_images(request, folder, device),
    )
    emit({"type": "completion", "text": text})


def request_images(request: dict, folder: Path | None, device: torch.device) -> dict:
    """A complete request's images (`pixels`: { file (in `folder`, beside request.json), offsets, shapes, gridThw }) as
    pixel inputs, {} without any."""
    import numpy as np

    from .vision import PixelShards, batch_images

    p = request.get("pixels")
    if not p:
        return {}
    file = Path(folder or ".") / p["file"]
    n = len(p["offsets"])
    shards = PixelShards(pixels=np.fromfile(file, dtype="<f4"), counts=[n], first=[0], offsets=list(p["offsets"]), shapes=[list(s) for s in p["shapes"]],
                         grid_thw=[list(g) for g in p["gridThw"]] if p.get("gridThw") else None)
    return batch_images(shards, [0], device)


def generate_ids(model, prompt: list[int], eos: list[int], max_new_tokens: int, do_sample: bool, temperature: float, top_p: float, seed: int, pad_id: int) -> list[int]:
    """Ids generated after `prompt` (ids encoded by the TS side), without the stop id: greedy unless `do_sample`."""
    ids = torch.tensor([prompt], device=model.device)
    torch.manual_seed(seed)
    kwargs = {"max_new_tokens": max_new_tokens, "do_sample": do_sample, "eos_token_id": eos, "pad_token_id": pad_id}
    if do_sample:
        kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
    else:  # greedy: transformers warns when a model's generation_config carries sampling values
        kwargs.update(temperature=None, top_p=None, top_k=None)
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)[0, len(prompt) :].tolist()
    return out[: next((i for i, t in enumerate(out) if t in eos), len(out))]


def run_score(spec: NodeSpec) -> None:
    """The score node's generation: the TS side wrote the held-out prompts' ids (work_dir /
    score-prompts.jsonl, with their stop ids); each is answered and the answer ids written to
    work_dir / score-answers.jsonl, which the TS side decodes and scores with @tunekit/eval."""
    from .modeling import quantization_config, resolve_dtype

    params: ScoreParams = spec.params
    device = resolve_device(spec.device)
    dtype = resolve_dtype(params.dtype, device, spec.node)
    merged = spec.input_dir("merge")
    if merged is not None:
        folder, adapter, quant = merged, None, None
    else:
        # the base as training loaded it (quantised when training was): the adapter was trained over it
        folder = model_folder(spec.require_input("model"))
        adapter = spec.require_input("train") if params.model == "trained" else None
        quant = quantization_config(params.quantize, device, dtype, spec.node)
    model, _ = load_for_generation(folder, adapter, device, dtype, quant)
    vocab = len(load_tokenizer(spec.require_input("tokenize") / "tokenizer"))
    if adapter is None and vocab > model.get_input_embeddings().weight.shape[0]:  # added tokens, as in training
        resize_embeddings(model, vocab, spec.node)
    prompts = [json.loads(line) for line in (spec.work_dir / "score-prompts.jsonl").read_text().splitlines() if line]
    lines = []
    for i, prompt in enumerate(prompts):
        answer = generate_ids(model, prompt["ids"], prompt["eos"], params.max_new_tokens, params.do_sample, params.temperature, params.top_p, params.seed + i, prompt["eos"][0])
        lines.append(json.dumps({"ids": answer}))
        emit({"type": "node-progress", "node": spec.node, "done": i + 1, "total": len(prompts), "unit": "answers"})
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    out = spec.work_dir / "score-answers.jsonl"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines))
    tmp.replace(out)
