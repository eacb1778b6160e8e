"""Loads tunekit's artifacts the way a transformers / PEFT user does, in whichever stack runs it
(the pinned .venv or the old .venv-compat), and reports what they give: one process per stack
for every case of test/compat/matrix.test.ts.

    python load_artifacts.py request.json   ->  one JSON line on stdout

Per case: the merged folder through AutoModelForCausalLM, or the adapter the README's way (base
from `base_model_name_or_path`, `resize_token_embeddings(len(tokenizer))`, PeftModel); the prompt
ids `apply_chat_template(..., tokenize=True)` gives, greedy new ids, and the logits of `ids`
written to a safetensors file.
"""

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import peft
import tokenizers
import torch
import transformers
from peft import PeftModel
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

OLD = int(transformers.__version__.split(".")[0]) < 5
DTYPE = {"torch_dtype" if OLD else "dtype": torch.float32}


def load(case):
    if "adapter" not in case:
        return AutoModelForCausalLM.from_pretrained(case["model"], **DTYPE), AutoTokenizer.from_pretrained(case["model"])
    adapter = case["adapter"]
    tokenizer = AutoTokenizer.from_pretrained(f"{adapter}/tokenizer")
    base_id = json.load(open(f"{adapter}/adapter_config.json"))["base_model_name_or_path"]
    base = AutoModelForCausalLM.from_pretrained(base_id, **DTYPE)
    base.resize_token_embeddings(len(tokenizer))  # the added tokens' rows, before PEFT loads the adapter
    return PeftModel.from_pretrained(base, adapter).eval(), tokenizer


def greedy(model, ids, n):
    """n argmax steps over the whole sequence (no eos stop, no cache): what tunekit's side computes."""
    seq = list(ids)
    for _ in range(n):
        seq.append(int(model(input_ids=torch.tensor([seq])).logits[0, -1].argmax()))
    return seq[len(ids):]


def main(path):
    request = json.load(open(path))
    report = {"versions": {"transformers": transformers.__version__, "peft": peft.__version__, "tokenizers": tokenizers.__version__, "torch": torch.__version__}, "cases": []}
    with torch.no_grad():
        for case in request["cases"]:
            model, tokenizer = load(case)
            model.eval()
            prompt = tokenizer.apply_chat_template(request["prompt"], tokenize=True, add_generation_prompt=True, return_dict=False)
            sample = tokenizer.apply_chat_template(request["sample"], tokenize=True, return_dict=False)
            logits = model(input_ids=torch.tensor([request["ids"]])).logits[0].float().contiguous()
            save_file({"logits": logits}, case["out"])
            report["cases"].append({"prompt": prompt, "sample": sample, "greedy": greedy(model, request["ids"], request["maxNewTokens"]),
                                    "dtype": str(next(model.parameters()).dtype)})
        # transformers 4.x reads only `rope_theta`: without it the same weights run with theta 10000
        if "ropeCheck" in request:
            config = AutoConfig.from_pretrained(request["ropeCheck"]["model"])
            config.rope_theta = 10000.0
            model = AutoModelForCausalLM.from_pretrained(request["ropeCheck"]["model"], config=config, **DTYPE).eval()
            save_file({"logits": model(input_ids=torch.tensor([request["ids"]])).logits[0].float().contiguous()}, request["ropeCheck"]["out"])
            report["ropeTheta"] = {"read": AutoConfig.from_pretrained(request["ropeCheck"]["model"]).rope_theta}
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
