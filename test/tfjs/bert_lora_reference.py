"""Reference for the tfjs BERT LoRA test: PEFT's LoRA on transformers' BertForQuestionAnswering
with qa_outputs a saved module, A and B set to the request's matrices, trained as Trainer trains
it (clip_grad_norm_, AdamW without decay on biases and norms).

No task_type: PeftModelForQuestionAnswering.forward (TaskType.QUESTION_ANS) drops token_type_ids
for LoRA (it passes input_ids, attention_mask, … but not token_type_ids to the base model, PEFT
0.21), so BERT would see every token as type 0. The plain PeftModel passes every argument on.

argv: model folder. stdin: {"rank", "alpha", "targets", "initial": {key: flat list}, "batches", "lr", "weightDecay", "maxGradNorm"}.
Keys are adapter_model.safetensors' (no adapter name). Prints per-step loss and grad norm and the trained tensors.
"""
import json
import sys

import torch
from peft import LoraConfig, get_peft_model
from transformers import BertForQuestionAnswering

request = json.load(sys.stdin)
base = BertForQuestionAnswering.from_pretrained(sys.argv[1], dtype=torch.float32, attn_implementation="eager", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
config = LoraConfig(r=request["rank"], lora_alpha=request["alpha"], lora_dropout=0.0, target_modules=request["targets"], modules_to_save=["qa_outputs"])
model = get_peft_model(base, config)
key = lambda name: name.replace(".default.", ".")
trainable = {key(n): p for n, p in model.named_parameters() if p.requires_grad}
with torch.no_grad():
    for k, values in request["initial"].items():
        trainable[k].copy_(torch.tensor(values).reshape(trainable[k].shape))
model.train()
decay = [p for k, p in trainable.items() if not (k.endswith(".bias") or "norm" in k.lower())]
no_decay = [p for k, p in trainable.items() if k.endswith(".bias") or "norm" in k.lower()]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": request["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}], lr=request["lr"], betas=(0.9, 0.999), eps=1e-8)
steps = []
for b in request["batches"]:
    out = model(input_ids=torch.tensor(b["ids"]), token_type_ids=torch.tensor(b["types"]), attention_mask=torch.tensor(b["mask"]), start_positions=torch.tensor(b["starts"]), end_positions=torch.tensor(b["ends"]))
    optimizer.zero_grad()
    out.loss.backward()
    norm = torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], request["maxGradNorm"])
    optimizer.step()
    steps.append({"loss": out.loss.item(), "gradNorm": norm.item()})
json.dump({"steps": steps, "keys": sorted(trainable), "tensors": {k: p.detach().flatten().tolist() for k, p in trainable.items()}}, sys.stdout)
