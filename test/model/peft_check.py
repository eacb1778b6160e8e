"""Loads tunekit-written model folders and adapters with transformers + PEFT and reports, as one
JSON line on stdout, what the TypeScript test asserts. Usage: peft_check.py spec.json"""
import json, logging, sys, warnings

import torch
from peft import PeftModel, LoraConfig, get_peft_model
from peft.utils import get_peft_model_state_dict
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

spec = json.load(open(sys.argv[1]))
out = {}


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


for case in spec["cases"]:
    res = {}
    model = AutoModelForCausalLM.from_pretrained(case["model"])
    tok = AutoTokenizer.from_pretrained(case["model"])
    ids = tok("Hello world", return_tensors="pt").input_ids
    res["ids"] = ids[0].tolist()
    with torch.no_grad():
        base_logits = model(ids).logits
    res["base_finite"] = bool(torch.isfinite(base_logits).all())
    res["architecture"] = type(model).__name__

    handler = Collect()
    for name in ("peft", "transformers"):
        logging.getLogger(name).addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        peft_model = PeftModel.from_pretrained(model, case["adapter"])
    messages = [str(w.message) for w in caught] + handler.messages
    res["key_warnings"] = [m for m in messages if "missing" in m.lower() or "unexpected" in m.lower()]

    # PEFT's view of its parameters, under the names it saves, against the file tunekit wrote.
    written = load_file(case["adapter"] + "/adapter_model.safetensors")
    loaded = get_peft_model_state_dict(peft_model)
    res["written_keys"] = sorted(written)
    res["loaded_keys"] = sorted(loaded)
    res["max_abs_diff"] = max(float((written[k] - loaded[k]).abs().max()) for k in written if k in loaded)
    with torch.no_grad():
        res["adapter_changes_logits"] = bool((peft_model(ids).logits - base_logits).abs().max() > 1e-6)
    # A fresh PEFT model with the same LoraConfig saves exactly these keys and shapes.
    fresh = get_peft_model(AutoModelForCausalLM.from_pretrained(case["model"]), LoraConfig.from_pretrained(case["adapter"]))
    fresh_sd = get_peft_model_state_dict(fresh)
    res["peft_saves"] = sorted(f"{k} {list(v.shape)}" for k, v in fresh_sd.items())
    res["tunekit_writes"] = sorted(f"{k} {list(v.shape)}" for k, v in written.items())
    if "save_to" in case:
        fresh.save_pretrained(case["save_to"])
    out[case["name"]] = res

# Half-precision folders: the dtype transformers reads and the values it holds.
for name, folder in spec.get("plain_models", {}).items():
    m = AutoModelForCausalLM.from_pretrained(folder, dtype="auto")
    w = m.model.embed_tokens.weight
    out[name] = {"dtype": str(w.dtype), "first": w.detach().float().flatten()[:4].tolist()}

print(json.dumps(out))
