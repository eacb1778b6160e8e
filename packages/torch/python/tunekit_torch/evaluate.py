"""The eval node: token loss and perplexity of the trained model (base as trained + adapter) on the eval shards."""

from __future__ import annotations

import contextlib
import json
import math

from .events import WorkerError, emit
from .generate import load_for_generation
from .modeling import quantization_config, resolve_device, resolve_dtype
from .params import EvalParams
from .shards import open_shards, read_plan
from .spec import NodeSpec, model_folder, write_json_atomic
from .train import evaluate_sum


def run_eval(spec: NodeSpec) -> None:
    """Mean token cross-entropy over every labelled token of the batch plan's eval micro-batches
    (the batches and sum the training loop's evals use) and exp of it; `eval.json` and an `eval` event."""
    params: EvalParams = spec.params
    device = resolve_device(spec.device)
    dtype = resolve_dtype(params.dtype, device, spec.node)
    train_dir = spec.require_input("train")
    # the base as training loaded it (quantised when training was): the adapter was trained over it
    quant = quantization_config(params.quantize, device, dtype, spec.node)
    model, _ = load_for_generation(model_folder(spec.require_input("model")), train_dir, device, dtype, quant)
    shards = open_shards(spec.require_input("split") / "eval")
    micro_batches = read_plan(spec.require_input("collate"))["eval"]["microBatches"]
    if not micro_batches:
        raise WorkerError("WorkerFailed", f"node {spec.node!r}: the batch plan has no eval micro-batches")
    total, tokens = evaluate_sum(model, shards, micro_batches, device, contextlib.nullcontext)
    loss = total / tokens
    report = {"loss": loss, "perplexity": math.exp(loss), "tokens": tokens, "samples": int(json.loads((spec.require_input("split") / "eval" / "index.json").read_text())["count"])}
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(spec.out_dir / "eval.json", report)
    state = json.loads((train_dir / "trainer_state.json").read_text())
    emit({"type": "eval", "node": spec.node, "step": state["step"], "epoch": state["epoch"], "loss": loss, "perplexity": report["perplexity"], "tokens": tokens})
