"""The ref-logprobs node: the reference model's summed log-probability of every chosen and rejected
answer (TRL's `precompute_ref_log_probs`), computed once before DPO trains. The reference is
loaded as training loads it, in its own process, so it never sits in memory beside the policy: the
policy training starts from, as DPOTrainer takes it when `ref_model` is None (the base with a fresh
adapter off; with `lora.init` naming an adapter folder, the base with that adapter, TRL's frozen
`ref` copy). For kto (`examples: 'unpaired'`) it scores each example's completion and KL completion
(kto_examples.py), as KTOTrainer's precompute_ref_log_probs does."""

from __future__ import annotations

import contextlib

import torch

from .modeling import attention_kind, load_base, load_tokenizer, quantization_config, resize_embeddings, resolve_device, resolve_dtype
from .params import RefLogprobsParams
from .events import WorkerError
from .kto_examples import kto_batch, read_kto_examples
from .preference import pair_batch, read_pairs, sequence_logps
from .shards import open_shards
from .spec import NodeSpec, model_folder, write_json_atomic

BATCH_PAIRS = 8  # pairs (2 × 8 rows) or kto examples per forward pass: padding does not change a row's log-probabilities


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
    # bf16/fp16 autocast on CUDA, as training runs (train.py); float32 on CPU
    amp = device.type == "cuda" and dtype in (torch.bfloat16, torch.float16)
    autocast = (lambda: torch.autocast("cuda", dtype=dtype)) if amp else contextlib.nullcontext
    with torch.no_grad():
        out = _score_unpaired(spec, model, device, autocast) if params.examples == "unpaired" else _score_pairs(tokenize, model, device, autocast)
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(spec.out_dir / "ref-logprobs.json", out)


def _score_pairs(tokenize, model, device, autocast) -> dict:
    """Each pair's chosen and rejected answer: `{records, chosen, rejected}`."""
    pairs = read_pairs(tokenize)
    pad_id = open_shards(tokenize / "pairs").pad_id
    chosen: list[float] = []
    rejected: list[float] = []
    for start in range(0, len(pairs), BATCH_PAIRS):
        logps = sequence_logps(model, pair_batch(pairs[start : start + BATCH_PAIRS], pad_id, device), autocast)
        c, r = logps.answer.chunk(2)
        chosen += c.tolist()
        rejected += r.tolist()
    return {"records": [p.record for p in pairs], "chosen": chosen, "rejected": rejected}


def _score_unpaired(spec: NodeSpec, model, device, autocast) -> dict:
    """kto: each example's completion and, with a KL term, its KL completion: `{records, completions, kl}`."""
    if spec.kto_examples is None:
        raise WorkerError("WorkerFailed", f"node {spec.node!r} scores kto examples but node.json names no ktoExamples")
    examples, kl_of, pad_id = read_kto_examples(spec.require_input("tokenize"), spec.kto_examples)
    completions: list[float] = []
    kl: list[float] = []
    for start in range(0, len(examples), BATCH_PAIRS):
        batch = kto_batch(examples, list(range(start, min(start + BATCH_PAIRS, len(examples)))), kl_of, pad_id, device)
        completions += sequence_logps(model, batch, autocast).answer.tolist()
        if "kl" in batch:
            kl += sequence_logps(model, batch["kl"], autocast).answer.tolist()
    return {"records": [e.record for e in examples], "completions": completions, "kl": kl}
