"""A fast probe of recipes/shapes-vision.ts's setting, outside tunekit's pipeline: the same generated
images and questions (writeShapesDataset, the same held-out rule), the same random LLaVA folder as the
recipe's model node writes (createRandomModel: every weight normal(0, 0.02)), the CLIP processor of its
preprocessor_config.json, the prompt the ChatML template renders (the answer and <|im_end|> trained),
the tower frozen, AdamW on the projector and the language model, batch 16, random batches. It scores
the held-out questions by teacher-forced argmax of the answer tokens and <|im_end|> (what the greedy
answer is when it is right), by question kind, in a fraction of the recipe's time. Its figures are
the probe's; the recipe's own are measured by running it (docs/multimodal.md has both).

`--linear` first fits a logistic regression of the shape on the frozen tower's image features (the
16 tokens the projector gets, flattened): whether the features keep the shape at all.

Run from the repository root (torch and transformers: the pinned worker environment):
    $TUNEKIT_PYTHON bench/shapes-probe.py --linear --steps 0       # only the features' separability
    $TUNEKIT_PYTHON bench/shapes-probe.py --count 1000 --steps 600 --schedule cosine
"""
import argparse
import json
import math
import random
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tokenizers import Tokenizer
from transformers import CLIPImageProcessor, LlavaForConditionalGeneration

p = argparse.ArgumentParser()
p.add_argument('--seed', type=int, default=0, help='seed of the generator')
p.add_argument('--count', type=int, default=400, help='images (two questions each; 15%% held out)')
p.add_argument('--size', type=int, default=28, help='image and tower image_size (pixels)')
p.add_argument('--patch', type=int, default=7)
p.add_argument('--vhidden', type=int, default=32, help='tower hidden size (intermediate 2x)')
p.add_argument('--vlayers', type=int, default=2)
p.add_argument('--feature-layer', type=int, default=-1, help="vision_feature_layer: the index into the tower's hidden states (0: the embeddings, -1: the last layer's output)")
p.add_argument('--hidden', type=int, default=64, help='language model hidden size (intermediate 2x)')
p.add_argument('--layers', type=int, default=2)
p.add_argument('--init-range', type=float, default=0.02, help='std of the random weights (initializer_range)')
p.add_argument('--steps', type=int, default=258)
p.add_argument('--batch', type=int, default=16)
p.add_argument('--lr', type=float, default=3e-3)
p.add_argument('--warmup', type=int, default=0)
p.add_argument('--schedule', choices=['constant', 'cosine'], default='constant')
p.add_argument('--init-seed', type=int, default=42, help='batch order (the recipe\'s args.seed)')
p.add_argument('--linear', action='store_true', help='logistic regression of the shape on the frozen features first')
p.add_argument('--train-tower', action='store_true', help='train the vision tower too (model.vision.freezeTower: false)')
p.add_argument('--eval-every', type=int, default=0)
a = p.parse_args()
torch.set_num_threads(1)
torch.manual_seed(a.init_seed)
random.seed(a.init_seed)
work = Path(tempfile.mkdtemp(prefix='shapes-probe-'))


def tsx(script: str) -> str:
    run = subprocess.run(['npx', 'tsx', '-e', f'(async () => {{ {script} }})()'], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(run.stderr)
    return run.stdout


# the data and the random model, written by tunekit's own TypeScript (the recipe's generator and model node)
config = {
    'text_config.hidden_size': a.hidden, 'text_config.intermediate_size': 2 * a.hidden, 'text_config.num_hidden_layers': a.layers,
    'text_config.num_attention_heads': 4, 'text_config.num_key_value_heads': 2, 'text_config.max_position_embeddings': 256,
    'vision_config.hidden_size': a.vhidden, 'vision_config.intermediate_size': 2 * a.vhidden, 'vision_config.num_hidden_layers': a.vlayers,
    'vision_config.num_attention_heads': 2, 'vision_config.image_size': a.size, 'vision_config.patch_size': a.patch,
    'vision_config.projection_dim': 32, 'vision_feature_layer': a.feature_layer,
}
data = json.loads(tsx(
    "const { writeShapesDataset } = await import('@tunekit/recipes'); const { createRandomModel, randomModelConfig } = await import('@tunekit/hf'); "
    f"const d = await writeShapesDataset({json.dumps(str(work / 'data'))}, {{ seed: {a.seed}, count: {a.count}, size: {a.size}, colours: 6, heldOut: 0.15 }}); "
    f"const params = {{ id: 'llava-hf/llava-1.5-7b-hf', family: 'llava', random: {{ seed: 0, tokenizer: 'mistral', config: {json.dumps(config)} }} }}; "
    f"await createRandomModel({json.dumps(str(work / 'model'))}, {{ family: 'llava', config: randomModelConfig(params), seed: 0, tokenizer: 'mistral', initializerRange: {a.init_range} }}); "
    "process.stdout.write(JSON.stringify(d))"))

model = LlavaForConditionalGeneration.from_pretrained(work / 'model', dtype=torch.float32)
processor = CLIPImageProcessor.from_pretrained(work / 'model')
tok = Tokenizer.from_file(str(work / 'model' / 'tokenizer.json'))
tok.add_special_tokens(['<|im_start|>', '<|im_end|>'])  # the recipe's tokens.chatml
n_image = model.config.image_seq_length
IMAGE = model.config.image_token_id
assert tok.token_to_id('<image>') == IMAGE


def pixels(path: str) -> torch.Tensor:
    return processor(images=Image.open(path).convert('RGB'), return_tensors='pt')['pixel_values'][0]


def encode(question: str, answer: str) -> tuple[list[int], list[int]]:
    """The ChatML rendering the tokenize node trains on: bos, the user turn with the image, the assistant's answer."""
    prompt = f'<s><|im_start|>user\n{"<image>" * n_image}{question}<|im_end|>\n<|im_start|>assistant\n'
    ids = tok.encode(prompt, add_special_tokens=False).ids
    target = tok.encode(f'{answer}<|im_end|>', add_special_tokens=False).ids
    return ids + target, [0] * len(ids) + [1] * len(target)


def question_of(record: dict) -> str:
    return record['messages'][0]['content'].removeprefix('<image>')


root = work / 'data'
train = [(*encode(question_of(r), r['messages'][1]['content']), pixels(str(root / r['images'][0])), question_of(r)) for r in data['train']]
held = [(*encode(q['question'], q['answer']), pixels(q['image']), q['question']) for q in data['heldOut']]
trainable = [p for n, p in model.named_parameters() if a.train_tower or 'vision_tower' not in n]
for n, p in model.named_parameters():
    p.requires_grad_(a.train_tower or 'vision_tower' not in n)
print(f'{len(train)} train questions, {len(held)} held out; {sum(p.numel() for p in trainable):,} trainable of '
      f'{sum(p.numel() for p in model.parameters()):,}; {n_image} image tokens', flush=True)


def tower_tokens(rows) -> torch.Tensor:
    """The tower's selected hidden states (what the projector reads), [n, tokens, vhidden]."""
    with torch.no_grad():
        out = model.model.vision_tower(torch.stack([r[2] for r in rows]), output_hidden_states=True)
        h = out.hidden_states[model.config.vision_feature_layer]
        return h[:, 1:] if model.config.vision_feature_select_strategy == 'default' else h


def linear_probe(name: str, x_train, y_train, x_test, y_test, steps=300) -> float:
    """Held-out accuracy of a logistic regression (standardised inputs, L2 1e-3, full-batch LBFGS)."""
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    xt, xs = (x_train - mean) / std, (x_test - mean) / std
    w = torch.zeros(xt.shape[1], int(y_train.max()) + 1, requires_grad=True)
    b = torch.zeros(w.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(xt @ w + b, y_train) + 1e-3 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        train_acc = ((xt @ w + b).argmax(1) == y_train).float().mean().item()
        acc = ((xs @ w + b).argmax(1) == y_test).float().mean().item()
    print(f'  linear probe of the shape on {name} ({xt.shape[1]} inputs): train {100 * train_acc:.1f}%, held out {100 * acc:.1f}%', flush=True)
    return acc


def mlp_probe(name: str, x_train, y_train, x_test, y_test, steps=1500) -> float:
    """Held-out accuracy of a one-hidden-layer MLP (standardised inputs, 128 GELU units, AdamW 1e-3 with
    weight decay 0.1, full batch): whether a small non-linear reader finds the shape from these many images."""
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    xt, xs = (x_train - mean) / std, (x_test - mean) / std
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(xt.shape[1], 128), torch.nn.GELU(), torch.nn.Linear(128, int(y_train.max()) + 1))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.1)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(net(xt), y_train).backward()
        opt.step()
    with torch.no_grad():
        train_acc = (net(xt).argmax(1) == y_train).float().mean().item()
        acc = (net(xs).argmax(1) == y_test).float().mean().item()
    print(f'  MLP probe of the shape on {name} ({xt.shape[1]} inputs): train {100 * train_acc:.1f}%, held out {100 * acc:.1f}%', flush=True)
    return acc


if a.linear:
    shapes = ['square', 'circle', 'triangle']
    # one row per image: its shape question's answer
    tr = [r for r in train if r[3].startswith('What shape')]
    te = [r for r in held if r[3].startswith('What shape')]
    label = lambda rows: torch.tensor([shapes.index(tok.decode([i for i, m in zip(r[0], r[1]) if m][:-1]).strip()) for r in rows])
    ytr, yte = label(tr), label(te)
    linear_probe('the pixels', torch.stack([r[2] for r in tr]).flatten(1), ytr, torch.stack([r[2] for r in te]).flatten(1), yte)
    linear_probe('the tower\'s selected tokens', tower_tokens(tr).flatten(1), ytr, tower_tokens(te).flatten(1), yte)
    linear_probe('the tower\'s tokens, mean over patches', tower_tokens(tr).mean(1), ytr, tower_tokens(te).mean(1), yte)
    mlp_probe('the pixels', torch.stack([r[2] for r in tr]).flatten(1), ytr, torch.stack([r[2] for r in te]).flatten(1), yte)
    mlp_probe('the tower\'s selected tokens', tower_tokens(tr).flatten(1), ytr, tower_tokens(te).flatten(1), yte)


def batch_tensors(rows):
    width = max(len(r[0]) for r in rows)
    ids = torch.tensor([r[0] + [0] * (width - len(r[0])) for r in rows])
    mask = torch.tensor([r[1] + [0] * (width - len(r[1])) for r in rows], dtype=torch.bool)
    attention = torch.tensor([[1] * len(r[0]) + [0] * (width - len(r[0])) for r in rows])
    return ids, mask, attention, torch.stack([r[2] for r in rows])


def answer_logits(rows):
    """Logits at the positions that predict a trained token (the head on those hidden states only:
    the same loss as the full logits' masked cross-entropy), and their targets."""
    ids, mask, attention, pix = batch_tensors(rows)
    hidden = model.model(input_ids=ids, attention_mask=attention, pixel_values=pix, use_cache=False).last_hidden_state
    predict = mask[:, 1:]  # position t predicts token t+1
    return model.lm_head(hidden[:, :-1][predict]), ids[:, 1:][predict], predict.sum(1)


@torch.no_grad()
def accuracy(rows) -> dict:
    model.eval()
    right = {'colour': [0, 0], 'shape': [0, 0]}
    for k in range(0, len(rows), 64):
        chunk = rows[k:k + 64]
        logits, target, per_row = answer_logits(chunk)
        ok = (logits.argmax(-1) == target).split(per_row.tolist())
        for r, o in zip(chunk, ok):
            kind = 'colour' if r[3].startswith('What colour') else 'shape'
            right[kind][0] += int(o.all())
            right[kind][1] += 1
    model.train()
    total = sum(v[0] for v in right.values()) / len(rows)
    return {'all': round(100 * total, 1), **{k: f'{v[0]}/{v[1]}' for k, v in right.items()}}


opt = torch.optim.AdamW(trainable, lr=a.lr, weight_decay=0.0)


def factor(s: int) -> float:
    if s < a.warmup:
        return (s + 1) / a.warmup
    if a.schedule == 'constant':
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * (s - a.warmup) / max(1, a.steps - a.warmup)))


print(f'before: held out {accuracy(held)}', flush=True)
start, cpu = time.time(), time.process_time()
step = 0
while step < a.steps:
    order = random.sample(range(len(train)), len(train))
    for b in range(0, len(order), a.batch):
        for g in opt.param_groups:
            g['lr'] = a.lr * factor(step)
        logits, target, _ = answer_logits([train[i] for i in order[b:b + a.batch]])
        loss = F.cross_entropy(logits, target, reduction='sum') / len(target)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        step += 1
        if a.eval_every and step % a.eval_every == 0 and step < a.steps:
            print(f'step {step}: loss {loss.item():.3f}, held out {accuracy(held)}, train {accuracy(train[:200])}', flush=True)
        if step == a.steps:
            break
args = {k: v for k, v in vars(a).items() if k not in ('eval_every', 'linear')}
print(f'{args}: held out {accuracy(held)}, train {accuracy(train[:200])} '
      f'({time.time() - start:.0f}s wall, {time.process_time() - cpu:.0f}s CPU for {a.steps} steps)', flush=True)
