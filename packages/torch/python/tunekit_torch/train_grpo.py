"""The grpo stage's train node (TRL's GRPOTrainer, one policy update per generation batch): for each
step of the grpo plan the TS driver wrote (@tunekit/data's grpoPlan), `numGenerations` completions
of each of its prompts sampled from the policy, rewards asked of the TS driver (the recipe's reward
functions are TypeScript), group-normalised advantages and the GRPO loss (grpo_loss.py).

The reward request: one event on stdout, `{"type": "reward-request", "id": step, "exampleIndices":
[prompt index per completion], "completions": [token ids per completion, eos kept when sampled]}`,
answered by one line on stdin, `{"rewards": [[per function] per completion], "metrics": {...}}`
(the metrics are TRL's reward and completion-length ones, computed by the driver with the same code
as tfjs), or `{"error": message}` when a reward function failed: the loop then ends with that error
(the driver raises its own catalog error), as it does when stdin closes.

Sampling: completion j of step s from `torch.manual_seed(completionSeed)` (the seed tfjs samples that
completion with; the two backends' generators differ, so their samples do), temperature only (no
top-k / top-p), dropout off, at most maxCompletionLength tokens, stopping at the tokenize
artifact's eos, which stays a trained token. A resumed run samples what the first run would have.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time

import torch

from .events import WorkerError, emit, info
from .grpo_loss import completion_logps, group_advantages, grpo_batch, grpo_loss
from .methods import METHODS, virtual_tokens
from .modeling import count_params
from .optim import loraplus_ratio, lr_factor, make_optimizer, set_lr
from .params import TrainParams
from .spec import NodeSpec
from .train import build_model, cadence_hit, finish, grad_norm, optimizer_update, resumable, train_start, write_outputs


def completion_seed(seed: int, step: int, per_step: int, j: int) -> int:
    """@tunekit/data's completionSeed: distinct for every completion of a run, a function of the step alone."""
    return seed * 1_000_003 + step * per_step + j


def read_prompts(tokenize) -> tuple[list[list[int]], int, int]:
    """The prompt ids of tokenize's prompts.jsonl (record order), its eos and pad ids."""
    lines = (tokenize / "prompts.jsonl").read_text().splitlines()
    index = json.loads((tokenize / "index.json").read_text())
    return [json.loads(line)["promptIds"] for line in lines if line], int(index["eosId"]), int(index["padId"])


def sample(model, prompt: list[int], o, seed: int, eos_id: int, pad_id: int, device) -> list[int]:
    """One completion of `prompt` from the policy: temperature sampling from `seed`, eos kept."""
    torch.manual_seed(seed)
    ids = torch.tensor([prompt], dtype=torch.long, device=device)
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True, temperature=o.temperature, top_k=0, top_p=1.0,
                         max_new_tokens=o.max_completion_length, eos_token_id=[eos_id], pad_token_id=pad_id)
    completion = out[0, len(prompt):].tolist()
    return completion[: completion.index(eos_id) + 1] if eos_id in completion else completion


def ask_rewards(step: int, rows: list[int], completions: list[list[int]]) -> tuple[torch.Tensor, dict]:
    """The driver's rewards of a step's completions [completions, functions] and its reward metrics."""
    emit({"type": "reward-request", "id": step, "exampleIndices": rows, "completions": completions})
    line = sys.stdin.readline()
    if not line.strip():
        raise WorkerError("WorkerFailed", f"the driver closed the worker's stdin while it waited for the rewards of step {step + 1}")
    answer = json.loads(line)
    if "error" in answer:
        raise WorkerError("WorkerFailed", f"the rewards of step {step + 1} failed: {answer['error']}")
    return torch.tensor(answer["rewards"], dtype=torch.float32), answer.get("metrics", {})


class StartWeights:
    """The KL term's reference, as TRL and tfjs take it: for a PEFT method trained from a fresh
    adapter (LoRA's B = 0, IA³'s ones, prompt tuning's virtual tokens) the base with the adapter off;
    otherwise (a warm-start adapter, any other LoRA init, full or freeze weights) the policy at the
    start: a copy of the trainable tensors, swapped in for the reference pass."""

    def __init__(self, model, method) -> None:
        fresh = method.kind in ("ia3", "prompt-tuning") or (method.kind == "lora" and method.init in ("default", "gaussian"))
        self.saved = None if fresh else {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}

    @contextlib.contextmanager
    def active(self, model):
        if self.saved is None:
            with model.disable_adapter():
                yield
            return
        params = dict(model.named_parameters())
        current = {n: params[n].detach().clone() for n in self.saved}
        with torch.no_grad():
            for n, v in self.saved.items():
                params[n].copy_(v)
        try:
            yield
        finally:
            with torch.no_grad():
                for n, v in current.items():
                    params[n].copy_(v)


def logps_of(model, batch: dict, temperature: float) -> torch.Tensor:
    """log p of each completion token [b, c], with position ids counted over each row's own tokens
    (prompts are left-padded; prompt tuning's virtual tokens take none, as PEFT drops them)."""
    position_ids = None if virtual_tokens(model) else (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    return completion_logps(model, batch["input_ids"], batch["attention_mask"], batch["completion_length"], temperature, position_ids)


def grpo_update(model, optimizer, o, args, prompts: list[list[int]], completions: list[list[int]], per_function: torch.Tensor, pad_id: int,
                start: StartWeights | None, step: int, checkpoint=None) -> tuple[float, float, dict]:
    """One optimiser step on a step's completions (the prompt of each, its completion's ids, its
    rewards [completions, functions]): group advantages, the reference's log p (β > 0), micro-batches
    of `args.batch_size` completions, the GRPO loss's gradients, clipping and the update. Returns the
    step's loss, gradient norm and the sums behind `kl` and `clip_ratio/region_mean`."""
    device = next(model.parameters()).device
    _, advantages, _ = group_advantages(per_function, o.reward_weights, o.num_generations, o.scale_rewards)
    micro = [list(range(s, min(s + args.batch_size, len(prompts)))) for s in range(0, len(prompts), args.batch_size)]
    batches = [grpo_batch([prompts[j] for j in mb], [completions[j] for j in mb], pad_id, device) for mb in micro]
    refs = [None] * len(batches)
    if start is not None:
        was_training = model.training
        model.eval()
        with torch.no_grad(), start.active(model):
            refs = [logps_of(model, b, o.temperature) for b in batches]
        model.train(was_training)
    generation_tokens = sum(len(c) for c in completions)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    sums = {"_kl": 0.0, "_clipped": 0.0, "_tokens": 0.0}
    for mb, batch, ref in zip(micro, batches, refs):
        logps = logps_of(model, batch, o.temperature)
        loss, parts = grpo_loss(o, logps, ref, advantages[mb].to(device), batch["completion_mask"], generation_tokens, len(micro))
        loss.backward()
        loss_sum += loss.detach().double()
        for name, value in parts.items():
            sums[name] += float(value)
    trainable = [p for g in optimizer.param_groups for p in g["params"]]
    norm = grad_norm(trainable, args.max_grad_norm)
    step_loss, norm_value = torch.stack([loss_sum, norm.detach().double()]).tolist()
    optimizer_update(optimizer, step_loss, step, checkpoint)
    return step_loss, norm_value, sums


def run_train_grpo(spec: NodeSpec) -> None:
    params: TrainParams = spec.params
    args, o = params.args, params.objective
    device, dtype, interrupt = train_start(spec)
    if spec.grpo_plan is None:
        raise WorkerError("WorkerFailed", f"node {spec.node!r} trains grpo but node.json names no grpoPlan")
    plan = json.loads(spec.grpo_plan.read_text())
    steps, per_epoch = plan["prompts"], int(plan["stepsPerEpoch"])
    total = len(steps)
    prompts, eos_id, pad_id = read_prompts(spec.require_input("tokenize"))
    model, tokenizer, _ = build_model(spec, device, dtype)
    method = METHODS[params.method.kind]
    optimizer, opt_name = make_optimizer(model, args, device, spec.node, loraplus_ratio(params.method))
    factor = lr_factor(args, total)
    trainable, all_params = count_params(model)
    start = StartWeights(model, params.method) if o.beta != 0.0 else None  # before a resume loads later weights
    info(spec.node, f"torch {torch.__version__} on {device.type}, {str(dtype).replace('torch.', '')} weights; {opt_name}; "
         f"{trainable:,} trainable of {all_params:,} parameters; {len(prompts)} prompts, {total} steps; "
         f"GRPO loss {o.loss_type}, {o.num_generations} generations, beta {o.beta}, epsilon {o.epsilon}")
    state, snapshot, checkpoint = resumable(spec, model, optimizer, method, total)

    done_at_start = int(state["step"])
    run_start = time.perf_counter()
    for index in range(done_at_start, total):
        if interrupt.requested:
            break
        step_start = time.perf_counter()
        rows = [i for i in steps[index] for _ in range(o.num_generations)]
        model.eval()  # sampling and the reference without dropout
        with torch.no_grad():
            completions = [sample(model, prompts[r], o, completion_seed(args.seed, index, len(rows), j), eos_id, pad_id, device) for j, r in enumerate(rows)]
        per_function, metrics = ask_rewards(index, rows, completions)
        model.train()
        torch.manual_seed(args.seed + index)  # dropout of step s from seed + s, as train.py
        lr = args.learning_rate * factor(index)
        set_lr(optimizer, lr)
        step_loss, norm_value, sums = grpo_update(model, optimizer, o, args, [prompts[r] for r in rows], completions, per_function, pad_id, start, index + 1, checkpoint)
        step = index + 1
        state["step"], state["epoch"], state["microBatch"] = step, step / per_epoch, step * args.gradient_accumulation_steps
        state["lossHistory"].append(step_loss)
        if step % args.log_every == 0 or step == total or step == done_at_start + 1:
            now = time.perf_counter()
            tokens = sum(len(prompts[r]) + len(c) for r, c in zip(rows, completions))
            metrics = {**metrics, **({"kl": sums["_kl"] / max(sums["_tokens"], 1)} if o.beta != 0.0 else {}),
                       "clip_ratio/region_mean": sums["_clipped"] / max(sums["_tokens"], 1)}
            event = {"type": "step", "node": spec.node, "step": step, "totalSteps": total, "epoch": state["epoch"],
                     "loss": step_loss, "learningRate": lr, "gradNorm": norm_value,
                     "tokensPerSecond": tokens / max(now - step_start, 1e-9),
                     "etaSeconds": (now - run_start) / (step - done_at_start) * (total - step), "metrics": metrics}
            if device.type == "cuda":
                event["memoryBytes"] = int(torch.cuda.max_memory_allocated())
            emit(event)
        if cadence_hit(args.save_every, step, step % per_epoch == 0 or step == total) and step < total:
            checkpoint()

    finish(interrupt, state, total, checkpoint, lambda: write_outputs(spec, model, tokenizer, snapshot(), method))
