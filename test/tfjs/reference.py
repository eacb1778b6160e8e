"""Reference logits from transformers for the tfjs parity test.

Usage: reference.py MODEL_DIR  (reads {"ids": [[...]], "positions": [[...]] | null} on stdin, prints {"logits": [...]})
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM

request = json.load(sys.stdin)
model = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32, attn_implementation="eager")
model.eval()
ids = torch.tensor(request["ids"], dtype=torch.long)
kwargs = {}
if request.get("positions") is not None:
    kwargs["position_ids"] = torch.tensor(request["positions"], dtype=torch.long)
with torch.no_grad():
    logits = model(input_ids=ids, **kwargs).logits
json.dump({"logits": logits.flatten().tolist()}, sys.stdout)
