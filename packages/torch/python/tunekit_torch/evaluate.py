"""The eval node: token loss and perplexity of a model (merged, or base + adapter) on the eval shards."""

from __future__ import annotations

import contextlib
import math

from .events import emit
from .generate import load_for_generation
from .modeling import resolve_device
from .shards import open_shards, read_plan
from .spec import NodeSpec, model_folder, write_json_atomic
from .train import evaluate


def run_eval(spec: NodeSpec) -> None:
    device = resolve_device(spec.device if spec.device != "auto" else spec.params.get("device", "auto"))
    folder = spec.input_dir("merge") or model_folder(spec.require_input("model"))
    adapter = None if spec.input_dir("merge") else spec.input_dir("train")
    model, _ = load_for_generation(folder, adapter, device)
    shards = open_shards(spec.require_input("split") / "eval")
    micro_batches = read_plan(spec.require_input("collate")).get("eval", {}).get("microBatches", [])
    loss = evaluate(model, shards, micro_batches, device, contextlib.nullcontext)
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    metrics = {"loss": loss, "perplexity": math.exp(loss) if loss is not None else None, "microBatches": len(micro_batches)}
    write_json_atomic(spec.out_dir / "metrics.json", metrics)
    if loss is not None:
        emit({"type": "eval", "node": spec.node, "step": 0, "epoch": 0, "loss": loss})
