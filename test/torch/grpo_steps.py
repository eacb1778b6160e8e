"""The torch side of test/torch/grpo-backends.test.ts: several GRPO optimiser steps of the worker's
own code (build_model, make_optimizer, train_grpo.grpo_update) on injected completions.

request (one JSON line on stdin): {params: the train node's params, model: the model artifact,
  tokenize: the tokenize artifact, adapter: the start adapter, out, prompts: [ids] and completions:
  [ids] one per completion, rewards: [[per function]], padId, steps, ids: a row to read logits of}
result (one `result <JSON>` line): {losses: [per step], tensors: {PEFT key: [values]}, logits: [...]}
"""

import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "packages", "torch", "python"))
from tunekit_torch.optim import loraplus_ratio, lr_factor, make_optimizer, set_lr  # noqa: E402
from tunekit_torch.params import TrainParams  # noqa: E402
from tunekit_torch.spec import NodeSpec  # noqa: E402
from tunekit_torch.train import build_model  # noqa: E402
from tunekit_torch.train_grpo import StartWeights, grpo_update  # noqa: E402


def main() -> None:
    torch.use_deterministic_algorithms(True, warn_only=True)
    req = json.loads(sys.stdin.readline())
    params = TrainParams.from_json(req["params"], "params")
    inputs = {"model": {"kind": "model", "dir": req["model"]}, "tokenize": {"kind": "tokenize", "dir": req["tokenize"]}}
    spec = NodeSpec(node="train", kind="train", key="grpo-steps", params=params, inputs=inputs, out_dir=Path(req["out"]),
                    work_dir=Path(req["out"]) / "work", device="cpu", initial_adapter=Path(req["adapter"]))
    device = torch.device("cpu")
    model, _, _ = build_model(spec, device, torch.float32)
    args, o = params.args, params.objective
    optimizer, _ = make_optimizer(model, args, device, "train", loraplus_ratio(params.method))
    factor = lr_factor(args, req["steps"])
    start = StartWeights(model, params.method) if o.beta != 0.0 else None
    rewards = torch.tensor(req["rewards"], dtype=torch.float32)
    losses = []
    model.train()
    for i in range(req["steps"]):
        torch.manual_seed(args.seed + i)
        set_lr(optimizer, args.learning_rate * factor(i))
        loss, _, _ = grpo_update(model, optimizer, o, args, req["prompts"], req["completions"], rewards, req["padId"], start, i + 1)
        losses.append(loss)
    tensors = {n.replace(".default", ""): p.detach().reshape(-1).tolist() for n, p in model.named_parameters() if p.requires_grad}
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([req["ids"]]), use_cache=False).logits[0].reshape(-1).tolist()
    print("result " + json.dumps({"losses": losses, "tensors": tensors, "logits": logits}), flush=True)


if __name__ == "__main__":
    main()
