"""Measures the bytes autograd keeps for the backward pass of a tiny Llama with PEFT LoRA adapters
(frozen base, as in LoRA training), to check tunekit's activation formula (docs/memory-planning.md).

Per decoder layer: the saved tensors of a 2-layer model minus those of a 1-layer model, parameters
excluded, each storage counted once. Prints JSON: one entry per configuration given as
`attention:dropout:dtype` arguments, e.g. `sdpa:0.0:float32 eager:0.1:bfloat16`.
"""
import json
import sys

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

from saved_tensors import saved_bytes_of

SHAPE = dict(vocab_size=1000, hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
BATCH, SEQ, RANK = 4, 32, 8
TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']


def saved_bytes(layers: int, attention: str, dropout: float, dtype: torch.dtype) -> int:
    torch.manual_seed(0)
    config = LlamaConfig(num_hidden_layers=layers, attn_implementation=attention, **SHAPE)
    model = get_peft_model(LlamaForCausalLM(config).to(dtype), LoraConfig(r=RANK, lora_alpha=16, lora_dropout=dropout, target_modules=TARGETS))
    model.train()
    ids = torch.randint(0, SHAPE['vocab_size'], (BATCH, SEQ))
    return saved_bytes_of(model, lambda: model(input_ids=ids, labels=ids))


out = []
for spec in sys.argv[1:]:
    attention, dropout, dtype = spec.split(':')
    one = saved_bytes(1, attention, float(dropout), getattr(torch, dtype))
    two = saved_bytes(2, attention, float(dropout), getattr(torch, dtype))
    out.append({'attention': attention, 'dropout': float(dropout), 'dtype': dtype, 'perLayer': two - one, 'outsideLayers': 2 * one - two})
print(json.dumps({'shape': SHAPE, 'batch': BATCH, 'seq': SEQ, 'rank': RANK, 'torch': torch.__version__, 'results': out}))
