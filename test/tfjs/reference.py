"""Reference logits from transformers for the tfjs parity tests.

Reads a JSON list of {"dir", "ids": [[...]], "positions": [[...]] | null, "adapter": dir | null} on
stdin and prints a JSON list of flattened float32 logits, one per request (eager attention,
float32). With "adapter", the PEFT adapter folder is loaded on top (PeftModel.from_pretrained).
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM

out = []
for request in json.load(sys.stdin):
    model = AutoModelForCausalLM.from_pretrained(request["dir"], dtype=torch.float32, attn_implementation="eager")
    if request.get("adapter"):
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, request["adapter"])
    model.eval()
    kwargs = {}
    if request.get("positions") is not None:
        kwargs["position_ids"] = torch.tensor(request["positions"], dtype=torch.long)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(request["ids"], dtype=torch.long), **kwargs).logits
    out.append(logits.flatten().tolist())
json.dump(out, sys.stdout)
