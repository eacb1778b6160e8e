"""`python -m tunekit_torch logits request.json`: next-token logits of a model (merged, or base +
adapter) on given ids, written as safetensors — how adapters are checked across backends.

request: { "model": folder, "adapter"?: folder, "merge"?: true, "ids": [[...], ...] (equal lengths), "out": file.safetensors },
or { "cases": [ such requests ] } to pay the imports once. `merge` folds the adapter first with
PEFT's merge_and_unload (what the torch backend's merge node runs).
"""

from __future__ import annotations

from pathlib import Path

import torch

from .generate import load_for_generation
from .modeling import resolve_device


def run_logits(request: dict) -> None:
    for case in request.get("cases", [request]):
        one_case(case)


def one_case(request: dict) -> None:
    from safetensors.torch import save_file

    device = resolve_device(request.get("device", "cpu"))
    model, _ = load_for_generation(Path(request["model"]), request.get("adapter"), device)
    if request.get("merge") and request.get("adapter"):
        model = model.merge_and_unload()
    ids = torch.tensor(request["ids"], dtype=torch.long, device=device)  # [batch, seq]
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False).logits  # [batch, seq, vocab]
    out = Path(request["out"])
    tmp = out.with_name(out.name + ".tmp")
    save_file({"logits": logits.float().cpu().contiguous()}, str(tmp))
    tmp.replace(out)
