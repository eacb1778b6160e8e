"""Reference for the tfjs BERT training test: transformers' BertForQuestionAnswering trained on the
same padded batches as Trainer trains it (loss from start/end positions, clip_grad_norm_, AdamW
without decay on biases and LayerNorm weights, dropout off, float32, eager attention).

argv: model folder. stdin: {"batches": [{"ids", "types", "mask", "starts", "ends"}], "lr", "weightDecay", "maxGradNorm"}.
Prints the loss and gradient norm of each step and some weights after the last.
"""
import json
import sys

import torch
from transformers import BertForQuestionAnswering

request = json.load(sys.stdin)
model = BertForQuestionAnswering.from_pretrained(sys.argv[1], dtype=torch.float32, attn_implementation="eager", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
model.train()
decay = [p for n, p in model.named_parameters() if not (n.endswith(".bias") or "norm" in n.lower())]
no_decay = [p for n, p in model.named_parameters() if n.endswith(".bias") or "norm" in n.lower()]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": request["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}], lr=request["lr"], betas=(0.9, 0.999), eps=1e-8)
steps = []
for b in request["batches"]:
    out = model(
        input_ids=torch.tensor(b["ids"]),
        token_type_ids=torch.tensor(b["types"]),
        attention_mask=torch.tensor(b["mask"]),
        start_positions=torch.tensor(b["starts"]),
        end_positions=torch.tensor(b["ends"]),
    )
    optimizer.zero_grad()
    out.loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), request["maxGradNorm"])
    optimizer.step()
    steps.append({"loss": out.loss.item(), "gradNorm": norm.item()})
state = model.state_dict()
names = ["qa_outputs.weight", "bert.encoder.layer.1.attention.self.query.weight", "bert.embeddings.LayerNorm.weight", "bert.embeddings.word_embeddings.weight"]
json.dump({"steps": steps, "weights": {n: state[n].flatten().tolist() for n in names}}, sys.stdout)
