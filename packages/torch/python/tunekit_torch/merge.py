"""The merge node: the train artifact folded into (LoRA) or written over (full, freeze) the base
weights, saved as a Hugging Face folder.

A 4-bit base is never merged in 4-bit: the base is loaded unquantised (dequantised) in the
recipe's dtype, the adapter is applied and `merge_and_unload` folds it in.
"""

from __future__ import annotations

import os
import shutil

import torch

from .events import emit, info
from .methods import METHODS, artifact_kind
from .modeling import load_base, load_tokenizer, resize_embeddings, resolve_device, resolve_dtype
from .params import MergeParams
from .spec import NodeSpec, model_folder


def is_reward_artifact(train_dir) -> bool:
    """Whether the rm stage trained it: a PEFT adapter of task SEQ_CLS, or a full model with the head `score`."""
    import json

    config = train_dir / "adapter_config.json"
    if config.exists():
        return json.loads(config.read_text()).get("task_type") == "SEQ_CLS"
    weights = train_dir / "model.safetensors"
    if weights.exists():
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as f:
            return "score.weight" in f.keys()
    return False


def merged_model(spec: NodeSpec, device: torch.device, dtype: torch.dtype):
    train_dir = spec.require_input("train")
    tok_dir = train_dir / "tokenizer" if (train_dir / "tokenizer").exists() else spec.require_input("tokenize") / "tokenizer"
    tokenizer = load_tokenizer(tok_dir)
    # a reward model's artifact (the rm stage) merges into AutoModelForSequenceClassification
    pad_id = tokenizer.pad_token_id if is_reward_artifact(train_dir) else None
    base = load_base(model_folder(spec.require_input("model")), dtype, device, reward_pad_id=pad_id)
    resize_embeddings(base, len(tokenizer), spec.node)
    return METHODS[artifact_kind(train_dir)].merged(base, train_dir), tokenizer, train_dir


def stored_dtype(folder) -> torch.dtype:
    """The storage type of a model folder's float weights (its first float tensor's), as @tunekit/hf's
    storedFloatDtype reads it: the merged model is stored in the base's own dtype."""
    from safetensors import safe_open

    names = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as f:
            for key in f.keys():
                found = names.get(f.get_slice(key).get_dtype())
                if found is not None:
                    return found
    return torch.float32


def run_merge(spec: NodeSpec) -> None:
    """Writes the merged weights only (safetensors, sharded by maxShardSize); config.json,
    generation_config.json and the tokenizer files come from the TS driver through @tunekit/hf,
    the same bytes as the tfjs backend's merge."""
    params: MergeParams = spec.params
    device = resolve_device(spec.device)
    dtype = resolve_dtype(params.dtype, device, spec.node)
    if device.type == "cpu":
        dtype = torch.float32
    if params.quantized:
        info(spec.node, "merging into a dequantised base (weights loaded unquantised, not from 4-bit)")
    merged, _tokenizer, _train_dir = merged_model(spec, device, dtype)
    keep = stored_dtype(model_folder(spec.require_input("model")))
    merged.to(keep)  # computed in `dtype`, stored as the base is (a bf16 base merges to bf16)
    out = spec.out_dir
    out.mkdir(parents=True, exist_ok=True)
    staging = spec.work_dir / "merge-save"
    shutil.rmtree(staging, ignore_errors=True)
    merged.save_pretrained(str(staging), max_shard_size=params.max_shard_size, safe_serialization=True)
    for file in staging.iterdir():
        if file.name.endswith(".safetensors") or file.name == "model.safetensors.index.json":
            os.replace(file, out / file.name)
    shutil.rmtree(staging, ignore_errors=True)
    emit({"type": "node-progress", "node": spec.node, "done": 1, "total": 1, "unit": "model"})
    info(spec.node, f"merged weights ({str(keep).replace('torch.', '')}) written to {os.fspath(out)}")
