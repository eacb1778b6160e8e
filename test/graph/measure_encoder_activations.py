"""Measures the bytes autograd keeps for the backward pass of a tiny BertForQuestionAnswering, as
the qa stage trains it (float32, eager attention, model.eval(): no dropout), fully fine-tuned or
with PEFT LoRA (a plain PeftModel, qa_outputs saved), to check tunekit's encoder activation
formula (docs/memory-planning.md).

Per encoder layer: the saved tensors of a 2-layer model minus those of a 1-layer model, parameters
excluded, each storage counted once. Prints JSON: one entry per method given as arguments
(`full`, or `lora:<comma-separated targets>`), with the 2-layer model's trainable parameters.
"""
import json
import sys

import torch
from peft import LoraConfig, get_peft_model
from transformers import BertConfig, BertForQuestionAnswering

from saved_tensors import saved_bytes_of

SHAPE = dict(vocab_size=500, hidden_size=64, intermediate_size=128, num_attention_heads=4, max_position_embeddings=64)
BATCH, SEQ, RANK = 4, 32, 8


def saved_bytes(layers: int, method: str) -> tuple[int, int]:
    """(saved bytes, trainable parameters as PEFT's print_trainable_parameters counts them)."""
    torch.manual_seed(0)
    model = BertForQuestionAnswering(BertConfig(num_hidden_layers=layers, attn_implementation="eager", **SHAPE))
    if method != "full":
        targets = method.split(":")[1].split(",")
        model = get_peft_model(model, LoraConfig(r=RANK, lora_alpha=16, lora_dropout=0.0, target_modules=targets, modules_to_save=["qa_outputs"]))
    model.eval()
    ids = torch.randint(0, SHAPE["vocab_size"], (BATCH, SEQ))
    types = torch.zeros_like(ids)
    types[:, SEQ // 2:] = 1
    mask = torch.ones_like(ids)
    mask[1, SEQ - 5:] = 0
    saved = saved_bytes_of(model, lambda: model(input_ids=ids, token_type_ids=types, attention_mask=mask, start_positions=torch.tensor([1, 2, 3, 4]), end_positions=torch.tensor([2, 3, 4, 5])))
    trainable = model.get_nb_trainable_parameters()[0] if method != "full" else sum(p.numel() for p in model.parameters())
    return saved, trainable


out = []
for method in sys.argv[1:]:
    one, _ = saved_bytes(1, method)
    two, trainable = saved_bytes(2, method)
    out.append({"method": method, "perLayer": two - one, "outsideLayers": 2 * one - two, "trainable": trainable})
print(json.dumps({"shape": SHAPE, "batch": BATCH, "seq": SEQ, "rank": RANK, "torch": torch.__version__, "results": out}))
