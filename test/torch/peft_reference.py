"""A reference LoRA run in plain transformers + PEFT, for test/torch/reproduce.test.ts.

Reads one JSON request on stdin: {"model": dir, "out": dir, "records": n, "batch": b, "lr": x, "seed": s}.
Writes into "out":
  initial-adapter/  PEFT's save_pretrained of a fresh LoraConfig adapter whose lora_B is then drawn
                    from N(0, 0.1²), so a warm start is visible in the first loss;
  tokens.jsonl      n records {"input_ids", "labels"} (-100 on a random-length prompt), lengths 6–15.
Then trains from that adapter on those records in file order, `b` per step, with torch's AdamW
(weight_decay 0), a constant learning rate, dropout 0, the gradient norm clipped to 1 (Trainer's
max_grad_norm), right padding with labels -100; prints {"losses": [...], "baseLoss"}: one mean loss
per step, and the first batch's loss on the base model alone (what an adapter with B = 0 gives).
"""
import json
import sys
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

req = json.load(sys.stdin)
out = Path(req["out"])
torch.manual_seed(req["seed"])
model = AutoModelForCausalLM.from_pretrained(req["model"], dtype=torch.float32, attn_implementation="eager")
vocab = model.config.vocab_size
peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], bias="none", task_type="CAUSAL_LM"))
with torch.no_grad():
    for name, p in peft_model.named_parameters():
        if "lora_B" in name:
            p.normal_(0.0, 0.1)
peft_model.save_pretrained(str(out / "initial-adapter"))

records = []
for _ in range(req["records"]):
    length = int(torch.randint(6, 16, ()).item())
    ids = torch.randint(0, vocab, (length,)).tolist()
    prompt = int(torch.randint(1, length - 2, ()).item())
    records.append({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]})
with open(out / "tokens.jsonl", "w") as f:
    for r in records:
        f.write(json.dumps(r) + "\n")

def batch_tensors(batch):
    """Right padding: id 0 with attention 0 and label -100, as tunekit pads."""
    longest = max(len(r["input_ids"]) for r in batch)
    ids = torch.tensor([r["input_ids"] + [0] * (longest - len(r["input_ids"])) for r in batch])
    labels = torch.tensor([r["labels"] + [-100] * (longest - len(r["labels"])) for r in batch])
    attention = torch.tensor([[1] * len(r["input_ids"]) + [0] * (longest - len(r["input_ids"])) for r in batch])
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}


# the first batch's loss on the base model alone (B = 0 would give this): the warm start must differ
with torch.no_grad(), peft_model.disable_adapter():
    base_loss = peft_model(**batch_tensors(records[:req["batch"]])).loss.item()

peft_model.train()
params = [p for p in peft_model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW(params, lr=req["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
losses = []
for start in range(0, len(records), req["batch"]):
    loss = peft_model(**batch_tensors(records[start:start + req["batch"]])).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    optimizer.zero_grad()
    losses.append(loss.item())
json.dump({"losses": losses, "baseLoss": base_loss}, sys.stdout)
