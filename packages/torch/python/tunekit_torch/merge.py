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


def merged_model(spec: NodeSpec, device: torch.device, dtype: torch.dtype):
    train_dir = spec.require_input("train")
    tok_dir = train_dir / "tokenizer" if (train_dir / "tokenizer").exists() else spec.require_input("tokenize") / "tokenizer"
    tokenizer = load_tokenizer(tok_dir)
    base = load_base(model_folder(spec.require_input("model")), dtype, device)
    resize_embeddings(base, len(tokenizer), spec.node)
    return METHODS[artifact_kind(train_dir)].merged(base, train_dir), tokenizer, train_dir


def run_merge(spec: NodeSpec) -> None:
    params: MergeParams = spec.params
    device = resolve_device(spec.device)
    dtype = resolve_dtype(params.dtype, device, spec.node)
    if device.type == "cpu":
        dtype = torch.float32
    if params.quantized:
        info(spec.node, "merging into a dequantised base (weights loaded unquantised, not from 4-bit)")
    merged, tokenizer, train_dir = merged_model(spec, device, dtype)
    out = spec.out_dir
    out.mkdir(parents=True, exist_ok=True)
    shard = params.max_shard_size
    merged.config.use_cache = True
    # The merged model stops where training taught it to: the training tokenizer's eos
    # (<|im_end|> with ChatML), not the base model's </s>.
    merged.config.eos_token_id = tokenizer.eos_token_id
    merged.config.pad_token_id = tokenizer.pad_token_id
    if merged.generation_config is not None:
        merged.generation_config.eos_token_id = tokenizer.eos_token_id
        merged.generation_config.pad_token_id = tokenizer.pad_token_id
    merged.save_pretrained(str(out), max_shard_size=shard, safe_serialization=True)
    template = train_dir / "chat_template.jinja"
    if template.exists():
        tokenizer.chat_template = template.read_text()
        shutil.copy(template, out / "chat_template.jinja")
    tokenizer.save_pretrained(str(out))
    emit({"type": "node-progress", "node": spec.node, "done": 1, "total": 1, "unit": "model"})
    info(spec.node, f"merged model written to {os.fspath(out)}")
