"""A fast probe of recipes/hotel-tools.ts's setting, outside tunekit's pipeline: the same generated
dialogues (rendered as the ChatML template renders them, assistant turns trained), the same corpus
tokenizer, the same Mistral shape and random init (transformers), AdamW with warmup and cosine, batch
16. It scores slot F1 (the seed's rule: a slot counts when its key and value match) on the call turn
of train dialogues and of held-out ones, so memorising and copying can be told apart, in about a
fifth of the tfjs recipe's CPU time. Its figures are the probe's, not the recipe's: the recipe's own
are measured by running it (docs/evaluation.md has both).

Run from the repository root (torch and transformers: the pinned worker environment):
    $TUNEKIT_PYTHON bench/hotel-probe.py                 # the recipe's tokenizer
    $TUNEKIT_PYTHON bench/hotel-probe.py --bare-keys     # without the call-key tokens ("subway": ")
"""
import argparse
import json
import math
import random
import re
import subprocess
import time

import torch
from tokenizers import Tokenizer
from transformers import MistralConfig, MistralForCausalLM

p = argparse.ArgumentParser()
p.add_argument('--seed', type=int, default=0, help='seed of the generator (train and held-out dialogues)')
p.add_argument('--init-seed', type=int, default=0, help='seed of the init and of the batch order')
p.add_argument('--train', type=int, default=360, help='train dialogues (the first ones of the seed)')
p.add_argument('--heldout-seed', type=int, default=None, help='another generator seed for the 100 held-out dialogues (default: the 100 after the train ones)')
p.add_argument('--steps', type=int, default=600)
p.add_argument('--lr', type=float, default=3e-3)
p.add_argument('--warmup', type=int, default=20)
p.add_argument('--layers', type=int, default=2)
p.add_argument('--tied', action='store_true', help='tie the head to the embeddings')
p.add_argument('--grouped', action='store_true', help='batches as groupByLength makes them from 360 samples: the epoch sorted longest first')
p.add_argument('--bare-keys', action='store_true', help='drop the call-key tokens from the tokenizer (the tokenizer before)')
p.add_argument('--eval-every', type=int, default=0)
a = p.parse_args()
torch.set_num_threads(1)
torch.manual_seed(a.init_seed)
random.seed(a.init_seed)


def dialogues(seed: int, count: int) -> list:
    script = ("import { hotelDialogues } from '@tunekit/recipes'; "
              f"process.stdout.write(JSON.stringify(hotelDialogues({{ seed: {seed}, count: {count}, tools: false }})))")
    return json.loads(subprocess.run(['npx', 'tsx', '-e', script], check=True, capture_output=True, text=True).stdout)


spec = json.load(open('recipes/hotel-tokenizer/tokenizer.json'))
if a.bare_keys:
    spec['added_tokens'] = [t for t in spec['added_tokens'] if not t['content'].startswith('"')]
tok = Tokenizer.from_str(json.dumps(spec))
tok.add_special_tokens(['<|im_start|>', '<|im_end|>'])  # the recipe's tokens.chatml
S, E = '<|im_start|>', '<|im_end|>'
BOS, PAD = tok.token_to_id('<s>'), tok.token_to_id('<pad>')


def call_text(args: dict) -> str:
    return '<tool_call>\n' + json.dumps({'name': 'search_hotels', 'arguments': args}, ensure_ascii=False) + '\n</tool_call>'


def prompt_text(request: str) -> str:
    return f'{S}user\n{request}{E}\n{S}assistant\n'


def encode(record: dict) -> tuple:
    """Ids and the trained mask of a dialogue: the assistant's calls and replies with their end token."""
    ids, mask = [BOS], [0]
    for turn in record['conversations']:
        v = turn['value']
        if turn['from'] == 'human':
            pieces = [(prompt_text(v), 0)]
        elif turn['from'] == 'function_call':
            pieces = [(call_text(json.loads(v)['arguments']) + E, 1), ('\n', 0)]
        elif turn['from'] == 'observation':
            pieces = [(f'{S}user\n<tool_response>\n{v}\n</tool_response>{E}\n{S}assistant\n', 0)]
        else:
            pieces = [(v + E, 1), ('\n', 0)]
        for text, trained in pieces:
            e = tok.encode(text, add_special_tokens=False).ids
            ids += e
            mask += [trained] * len(e)
    return ids, mask


records = dialogues(a.seed, a.train + 100)
train = records[:a.train]
held = dialogues(a.heldout_seed, 100) if a.heldout_seed is not None else records[a.train:]
data = [encode(r) for r in train]
cfg = MistralConfig(vocab_size=tok.get_vocab_size(), hidden_size=128, intermediate_size=256, num_hidden_layers=a.layers,
                    num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=a.tied, max_position_embeddings=512,
                    bos_token_id=BOS, eos_token_id=tok.token_to_id(E), pad_token_id=PAD)
model = MistralForCausalLM(cfg)
opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0)
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: (s + 1) / a.warmup if s < a.warmup else 0.5 * (1 + math.cos(math.pi * (s - a.warmup) / max(1, a.steps - a.warmup))))


@torch.no_grad()
def slot_f1(recs: list) -> float:
    """Slot F1 (percent) of the greedy answer to every dialogue's request (its call turn)."""
    model.eval()
    prompts = [[BOS] + tok.encode(prompt_text(r['conversations'][0]['value']), add_special_tokens=False).ids for r in recs]
    refs = [json.loads(r['conversations'][1]['value'])['arguments'] for r in recs]
    width = max(map(len, prompts))
    ids = torch.tensor([[PAD] * (width - len(x)) + x for x in prompts])  # left-padded
    out = model.generate(input_ids=ids, attention_mask=(ids != PAD).long(), max_new_tokens=64, do_sample=False,
                         pad_token_id=PAD, eos_token_id=cfg.eos_token_id)
    hit = predicted = wanted = 0
    for ref, row in zip(refs, out):
        m = re.search(r'<tool_call>\n(.*?)\n</tool_call>', tok.decode(row[width:].tolist(), skip_special_tokens=True), re.S)
        try:
            pred = json.loads(m.group(1))['arguments'] if m else {}
        except (json.JSONDecodeError, KeyError, TypeError):
            pred = {}
        pred = pred if isinstance(pred, dict) else {}
        predicted += len(pred)
        wanted += len(ref)
        hit += sum(1 for k, v in ref.items() if pred.get(k) == v)
    model.train()
    precision, recall = hit / max(1, predicted), hit / max(1, wanted)
    return 100 * 2 * precision * recall / max(1e-9, precision + recall)


start = time.time()
step = 0
while step < a.steps:
    order = random.sample(range(len(data)), len(data))
    if a.grouped:  # one megabatch (50 batches) holds the epoch: sorted longest first, ties by index
        order = sorted(range(len(data)), key=lambda i: (-len(data[i][0]), i))
    for b in range(0, len(order) - 15, 16):
        batch = [data[i] for i in order[b:b + 16]]
        width = max(len(x[0]) for x in batch)
        ids = torch.tensor([x[0] + [PAD] * (width - len(x[0])) for x in batch])
        labels = torch.tensor([[t if m else -100 for t, m in zip(*x)] + [-100] * (width - len(x[0])) for x in batch])
        attention = torch.tensor([[1] * len(x[0]) + [0] * (width - len(x[0])) for x in batch])
        loss = model(input_ids=ids, attention_mask=attention, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        if a.eval_every and step % a.eval_every == 0 and step < a.steps:
            print(f'step {step}: loss {loss.item():.3f}, slot F1 train {slot_f1(train[:100]):.1f}, held out {slot_f1(held):.1f}', flush=True)
        if step == a.steps:
            break
print(f'{vars(a)}: slot F1 train {slot_f1(train[:100]):.1f}, held out {slot_f1(held):.1f} '
      f'({time.time() - start:.0f}s wall, {time.process_time():.0f}s CPU)', flush=True)
