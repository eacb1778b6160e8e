"""`python -m tunekit_torch logits request.json`: next-token logits of a model (merged, or base +
adapter) on given ids, written as safetensors — how adapters are checked across backends.

request: { "cases": [case, ...] } (one worker for them all, to pay the imports once); a case is
{ "model": folder, "device", "adapter"?: folder, "merge"?: true, "ids": [[...], ...] (equal lengths), "out": file.safetensors },
or a QA case { "qa": true, "model": folder, "head": file | null, "device", "padId", "rows": [{ "ids", "typeIds" }, ...], "out": file }
(start_logits and end_logits [rows, seq] of AutoModelForQuestionAnswering, rows padded on the right as the
qa stage pads). `merge` folds the adapter first with PEFT's merge_and_unload (what the torch backend's
merge node runs).
"""

from __future__ import annotations

from pathlib import Path

import torch

from .generate import load_for_generation
from .modeling import resolve_device


def run_logits(request: dict) -> None:
    for case in request["cases"]:
        (qa_case if case.get("qa") else one_case)(case)


def qa_case(request: dict) -> None:
    from safetensors.torch import save_file
    from transformers import AutoModelForQuestionAnswering

    from .qa_train import qa_batch

    device = resolve_device(request["device"])
    model = AutoModelForQuestionAnswering.from_pretrained(request["model"], torch_dtype=torch.float32, attn_implementation="eager").to(device).eval()
    if request["head"] is not None:  # a checkpoint without its QA head: the driver's fresh one (qa_train.load_head)
        from safetensors.torch import load_file

        from .qa_train import load_head
        load_head(model, load_file(request["head"]))
    rows = [{**r, "startPosition": 0, "endPosition": 0} for r in request["rows"]]
    batch = qa_batch(rows, int(request["padId"]), device)
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"], attention_mask=batch["attention_mask"])
    path = Path(request["out"])
    tmp = path.with_name(path.name + ".tmp")
    save_file({"start": out.start_logits.float().cpu().contiguous(), "end": out.end_logits.float().cpu().contiguous()}, str(tmp))
    tmp.replace(path)


def one_case(request: dict) -> None:
    from safetensors.torch import save_file

    device = resolve_device(request["device"])
    model, _ = load_for_generation(Path(request["model"]), request.get("adapter"), device)
    if request.get("merge") and request.get("adapter"):
        model = model.merge_and_unload()
    ids = torch.tensor(request["ids"], dtype=torch.long, device=device)  # [batch, seq]
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False).logits  # [batch, seq, vocab]
    logits = logits[:, logits.shape[1] - ids.shape[1]:]  # prompt tuning's virtual positions first: not the ids
    out = Path(request["out"])
    tmp = out.with_name(out.name + ".tmp")
    save_file({"logits": logits.float().cpu().contiguous()}, str(tmp))
    tmp.replace(out)
