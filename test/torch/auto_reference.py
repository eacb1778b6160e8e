"""The reference side of test/torch/auto-family.test.ts: a tiny random GPT-NeoX (a decoder tunekit
has no family for) and a plain transformers + PEFT LoRA loop on it. One process for the whole
file: it reads one JSON request per stdin line and answers one JSON line on stdout.

  {"op": "write", "dir", "tokenizer", "tokens", "records", "seed"}
      GPTNeoXForCausalLM from a seeded random init, saved to "dir" (safetensors) with the test
      tokenizer's files; "records" pre-tokenized records {"input_ids", "labels"} (-100 on a
      random-length prompt) into "tokens". Answers {"modules": [...]} (the model's module names).
  {"op": "reference", "dir", "tokens", "batch", "steps", "lr", "seed", "rank", "alpha", "targets", "save", "ids"}
      LoraConfig as the worker builds it, drawn after torch.manual_seed(seed) (as the worker draws
      it); trains "steps" batches of "batch" records in file order with torch's AdamW (weight decay
      0, constant rate, the gradient norm clipped to 1, Trainer's default), right padding with
      labels -100. Answers {"trainable", "all"} (PEFT's get_nb_trainable_parameters, what
      print_trainable_parameters prints), {"losses"} per step, and {"merged"}: the logits
      [seq * vocab] of merge_and_unload() on "ids".
  {"op": "full", "dir", "tokens", "batch", "steps", "lr"}
      The same loop with every parameter trained (full fine-tuning): {"trainable", "losses"}.
  {"op": "logits", "dir", "ids"}
      AutoModelForCausalLM.from_pretrained(dir) and its logits on "ids": {"logits"}.
  {"op": "chat", "dir", "messages"}
      AutoTokenizer.from_pretrained(dir).apply_chat_template(messages, tokenize=True): {"ids"}.
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, GPTNeoXConfig, GPTNeoXForCausalLM

torch.use_deterministic_algorithms(True, warn_only=True)


def write(req):
    torch.manual_seed(req["seed"])
    # rotary over a quarter of each head (rotary_pct), a fused query_key_value, LayerNorms with biases
    # and an untied embed_out: nothing a native family's layout has
    config = GPTNeoXConfig(vocab_size=322, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                           max_position_embeddings=128, rotary_pct=0.25, tie_word_embeddings=False, bos_token_id=0, eos_token_id=1)
    model = GPTNeoXForCausalLM(config)
    model.save_pretrained(req["dir"], safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(Path(req["tokenizer"]) / name, Path(req["dir"]) / name)
    with open(req["tokens"], "w") as f:
        for _ in range(req["records"]):
            length = int(torch.randint(6, 16, ()).item())
            ids = torch.randint(3, 320, (length,)).tolist()
            prompt = int(torch.randint(1, length - 2, ()).item())
            f.write(json.dumps({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]}) + "\n")
    return {"modules": sorted({n.rsplit(".", 1)[-1] for n, _ in model.named_modules() if n})}


def batch_tensors(batch):
    """Right padding: id 0 with attention 0 and label -100, as tunekit pads."""
    longest = max(len(r["input_ids"]) for r in batch)
    pad = lambda row, value: row + [value] * (longest - len(row))
    return {
        "input_ids": torch.tensor([pad(r["input_ids"], 0) for r in batch]),
        "attention_mask": torch.tensor([pad([1] * len(r["input_ids"]), 0) for r in batch]),
        "labels": torch.tensor([pad(r["labels"], -100) for r in batch]),
    }


def logits_of(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0].flatten().tolist()


def train_steps(model, req):
    """`steps` AdamW steps on the records in file order; the per-step losses."""
    records = [json.loads(line) for line in open(req["tokens"])]
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=req["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    losses = []
    for step in range(req["steps"]):
        loss = model(**batch_tensors(records[step * req["batch"]:(step + 1) * req["batch"]])).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


def reference(req):
    model = AutoModelForCausalLM.from_pretrained(req["dir"], dtype=torch.float32, attn_implementation="eager")
    torch.manual_seed(req["seed"])
    cfg = LoraConfig(r=req["rank"], lora_alpha=req["alpha"], lora_dropout=0.0, target_modules=req["targets"],
                     modules_to_save=req["save"] or None, bias="none", task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, cfg)
    trainable, total = peft_model.get_nb_trainable_parameters()
    losses = train_steps(peft_model, req)
    merged = peft_model.merge_and_unload().eval()
    return {"trainable": trainable, "all": total, "losses": losses, "merged": logits_of(merged, req["ids"])}


def full(req):
    model = AutoModelForCausalLM.from_pretrained(req["dir"], dtype=torch.float32, attn_implementation="eager")
    return {"trainable": sum(p.numel() for p in model.parameters()), "losses": train_steps(model, req)}


def logits(req):
    model = AutoModelForCausalLM.from_pretrained(req["dir"], dtype=torch.float32).eval()
    return {"logits": logits_of(model, req["ids"])}


def chat(req):
    ids = AutoTokenizer.from_pretrained(req["dir"]).apply_chat_template(req["messages"], tokenize=True)
    return {"ids": list(ids["input_ids"] if hasattr(ids, "keys") else ids)}


OPS = {"write": write, "reference": reference, "full": full, "logits": logits, "chat": chat}
for line in sys.stdin:
    req = json.loads(line)
    print(json.dumps(OPS[req["op"]](req)), flush=True)
