"""The ref-logprobs node: the reference model's summed log-probability of every chosen and rejected
answer (TRL's `precompute_ref_log_probs`), computed once before DPO trains. The reference is
loaded as training loads it, in its own process, so it never sits in memory beside the policy: the
policy training starts from, as DPOTrainer takes it when `ref_model` is None (the base with a fresh
adapter off; with `lora.init` naming an adapter folder, the base with that adapter, TRL's frozen
`ref` copy)."""

from __future__ import annotations

import contextlib

import torch

from .modeling import attention_kind, load_base, load_tokenizer, quantization_config, resize_embeddings, resolve_device, resolve_dtype
from .params import RefLogprobsParams
from .preference import pair_batch, read_pairs, sequence_logps
from .shards import open_shards
from .spec import NodeSpec, model_folder, write_json_atomic

BATCH_PAIRS = 8  # pairs per forward pass (2 × 8 rows): padding does not change a row's log-probabilities


def run_ref_logprobs(spec: NodeSpec) -> None:
    params: RefLogprobsParams = spec.params
    device = resolve_device(spec.device)
    dtype = resolve_dtype(params.dtype, device, spec.node)
    tokenize = spec.require_input("tokenize")
    quant = quantization_config(params.quantize, device, dtype, spec.node)
    model = load_base(model_folder(spec.require_input("model")), dtype, device, quant, attention_kind(device, dtype, False))
    resize_embeddings(model, len(load_tokenizer(tokenize / "tokenizer")), spec.node)
    if spec.initial_adapter is not None:
        # lora.init naming an adapter folder: the reference is the policy training starts from
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(spec.initial_adapter))
    model.eval()
    pairs = read_pairs(tokenize)
    pad_id = open_shards(tokenize / "pairs").pad_id
    # bf16/fp16 autocast on CUDA, as training runs (train.py); float32 on CPU
    amp = device.type == "cuda" and dtype in (torch.bfloat16, torch.float16)
    autocast = (lambda: torch.autocast("cuda", dtype=dtype)) if amp else contextlib.nullcontext
    chosen: list[float] = []
    rejected: list[float] = []
    with torch.no_grad():
        for start in range(0, len(pairs), BATCH_PAIRS):
            logps = sequence_logps(model, pair_batch(pairs[start : start + BATCH_PAIRS], pad_id, device), autocast)
            c, r = logps.answer.chunk(2)
            chosen += c.tolist()
            rejected += r.tolist()
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(spec.out_dir / "ref-logprobs.json", {"records": [p.record for p in pairs], "chosen": chosen, "rejected": rejected})
