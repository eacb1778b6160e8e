"""Reference for the tfjs BERT parity test: transformers builds a random BertForQuestionAnswering,
saves it (safetensors) and prints its start/end logits on a padded batch (eager attention, float32).

argv: output folder. stdin: {"config": BertConfig kwargs, "seed", "std", "ids", "types", "mask"}.
"""
import json
import sys

import torch
from transformers import BertConfig, BertForQuestionAnswering

request = json.load(sys.stdin)
torch.manual_seed(request["seed"])
config = BertConfig(**request["config"], initializer_range=request["std"], hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, attn_implementation="eager")
model = BertForQuestionAnswering(config).eval()
with torch.no_grad():
    # LayerNorm weights and biases away from 1 and 0, so the test sees them used
    for name, p in model.named_parameters():
        if "LayerNorm" in name or name.endswith(".bias"):
            p.add_(torch.randn_like(p) * 0.1)
model.save_pretrained(sys.argv[1])
with torch.no_grad():
    out = model(
        input_ids=torch.tensor(request["ids"]),
        token_type_ids=torch.tensor(request["types"]),
        attention_mask=torch.tensor(request["mask"]),
    )
json.dump({"start": out.start_logits.flatten().tolist(), "end": out.end_logits.flatten().tolist()}, sys.stdout)
