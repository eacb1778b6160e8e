"""The ppo stage's train node (TRL 0.29.1's PPOTrainer; ppo_loss.py has its arithmetic): the policy (the
recipe's method over the base) samples a completion of each prompt of a rollout (the TS driver's plan:
@tunekit/data's grpoPlan over the tokenize artifact's prompts.jsonl, as tfjs trains), the reward model
(the rm stage's artifact over the same base: rewards.py's loading, in this process) scores it at its last
token, the policy with its adapter off gives the reference, a value head Linear(hidden, 1, bias=False)
on the policy's last hidden state (started as the reward model's `score`, as TRL's examples load the
value model from the reward model) gives the values. Then num_ppo_epochs passes over the rollout, each a
shuffled split into num_mini_batches optimizer steps of batch_size micro-batches (the loss of a step is
the mean over its micro-batches, TRL's gradient accumulation). Outputs: the method's tensors (the
policy adapter, PEFT's layout), trainer_state.json and value_head.safetensors (`v_head.summary.weight`).
Checkpoints (saveEvery, Ctrl-C) hold the value head with its moments and, inside a rollout, the rollout
itself; each rollout's shuffles and each step's dropout are seeded from its index, so a rerun resumes
to the same steps as an uninterrupted run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .checkpoint import list_checkpoints, optimizer_moments
from .events import emit, info
from .grpo_loss import grpo_batch
from .methods import METHODS
from .modeling import count_params
from .optim import loraplus_ratio, lr_factor, make_optimizer, set_lr
from .params import TrainParams
from .ppo_loss import policy_pass, ppo_advantages, ppo_loss
from .rewards import reward_model
from .spec import NodeSpec
from .train import build_model, cadence_hit, finish, grad_norm, optimizer_update, resumable, train_start, write_outputs
from .generate import generate_ids

VALUE_HEAD_FILE, VALUE_HEAD_KEY = "value_head.safetensors", "v_head.summary.weight"
ROLLOUT_FILE = "ppo_rollout.pt"  # a checkpoint inside a rollout: the rollout its remaining steps read


def reward_dir(spec: NodeSpec, reward) -> Path:
    """The rm train artifact: the `<recipe>/train` input's folder, or the folder the recipe names."""
    if getattr(reward, "path", None) is not None:  # the params' union: {path} or {recipe}
        return Path(reward.path)
    return Path(spec.inputs[f"{reward.recipe}/train"]["dir"])


def score_weight(reward) -> torch.Tensor:
    """The reward model's `score.weight` [1, hidden]: PEFT's trained copy (modules_to_save) over the base's."""
    named = dict(reward.named_parameters())
    saved = [p for name, p in named.items() if name.endswith("score.modules_to_save.default.weight")]
    return saved[0] if saved else next(p for name, p in named.items() if name.endswith("score.weight"))


def padded(rows: list[torch.Tensor], width: int) -> torch.Tensor:
    return torch.stack([torch.nn.functional.pad(r, (0, width - r.shape[0])) for r in rows])


def rollout(model, reward, head, o, prompts: list[list[int]], plan: dict, index: int, batch_size: int, seed: int, device) -> dict:
    """Completions of the rollout's prompts, their log p, the reference's, the values and scores; ppo_advantages over them."""
    eos, pad = plan["eosId"], plan["padId"]
    model.eval()
    completions = []
    for j, p in enumerate(prompts):
        out = generate_ids(model, p, [eos], o.response_length, True, o.temperature, 1.0, seed * 1_000_003 + index * len(prompts) + j, pad)
        completions.append(out + [eos] if len(out) < o.response_length else out)
    width = max(len(c) for c in completions)
    logps, refs, values, scores = [], [], [], []
    with torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            batch = grpo_batch(prompts[start : start + batch_size], completions[start : start + batch_size], pad, device, width)
            lp, v, _ = policy_pass(model, head, batch, o.temperature)
            with model.disable_adapter():
                ref, _, _ = policy_pass(model, head, batch, o.temperature, with_values=False)
            logps.append(lp), refs.append(ref), values.append(v)
        for p, c in zip(prompts, completions):  # each scored alone at its last token, as rewards.py scores
            x = torch.tensor([p + c], device=device)
            scores.append(float(reward(input_ids=x, attention_mask=torch.ones_like(x), use_cache=False).logits[0, 0]))
    mask = padded([torch.ones(len(c), dtype=torch.long) for c in completions], width).to(device)
    logprobs = torch.cat(logps)
    has_eos = torch.tensor([eos in c for c in completions], device=device)
    old = ppo_advantages(o, logprobs, torch.cat(refs), torch.cat(values), torch.tensor(scores, device=device), has_eos, mask)
    old.update(logprobs=logprobs, completions=completions, prompts=prompts, width=width, has_eos=has_eos, mask=mask)
    model.train()
    return old


def rollout_metrics(old: dict) -> dict:
    """TRL's rollout statistics under its names (as ppoRolloutMetrics in @tunekit/core computes them)."""
    mask = old["mask"].bool()
    lengths = mask.sum(1).float()
    span = ~old["padding_p1"]
    returns, values = old["returns"][span], old["values"][span]
    var_returns = returns.var(unbiased=False)
    non_score = float(old["non_score"].mean())
    return {
        "objective/kl": float(old["kl"].mean()), "objective/entropy": float((-old["logprobs"] * mask).sum(1).mean()),
        "objective/non_score_reward": non_score, "objective/rlhf_reward": non_score + float(old["scores"].mean()),
        "objective/scores": float(old["scores"].mean()), "val/num_eos_tokens": int(old["has_eos"].sum()),
        "val/var_explained": float(1 - (returns - values).var(unbiased=False) / var_returns) if var_returns > 0 else 0.0,
        "completions/mean_length": float(lengths.mean()), "completions/min_length": float(lengths.min()), "completions/max_length": float(lengths.max()),
        "completions/clipped_ratio": float((~old["has_eos"]).float().mean()),
    }


def rollout_orders(seed: int, index: int, n: int, epochs: int) -> list[list[int]]:
    """Each ppo epoch's shuffle of rollout `index` (TRL's b_inds), from a generator seeded per rollout,
    so that a resumed run draws the same orders without the generator's state."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
    return [torch.randperm(n, generator=generator).tolist() for _ in range(epochs)]


def save_ppo_extra(folder: Path, head: torch.nn.Parameter, optimizer, old: dict | None) -> None:
    """A checkpoint's ppo files: the value head with its AdamW moments, and, inside a rollout, the
    rollout (what its remaining ppo steps read: its sampling policy is no longer the model's)."""
    save_file({VALUE_HEAD_KEY: head.detach().float().cpu().contiguous(), **optimizer_moments(optimizer, {VALUE_HEAD_KEY: head})}, str(folder / VALUE_HEAD_FILE))
    if old is not None:
        torch.save(old, folder / ROLLOUT_FILE)


def load_ppo_extra(folder: Path, head: torch.nn.Parameter, optimizer, step: int, device) -> dict | None:
    """The value head and its moments from a checkpoint (saved by save_ppo_extra), and its rollout if it has one."""
    saved = load_file(str(folder / VALUE_HEAD_FILE))
    with torch.no_grad():
        head.copy_(saved[VALUE_HEAD_KEY].to(head.device))
    if f"{VALUE_HEAD_KEY}.exp_avg" in saved:
        optimizer.state[head] = {"step": torch.tensor(float(step), dtype=torch.float32), "exp_avg": saved[f"{VALUE_HEAD_KEY}.exp_avg"].to(head.device),
                                 "exp_avg_sq": saved[f"{VALUE_HEAD_KEY}.exp_avg_sq"].to(head.device)}
    rollout_file = folder / ROLLOUT_FILE
    return torch.load(rollout_file, map_location=device, weights_only=True) if rollout_file.exists() else None


def emit_sample(spec: NodeSpec, tokenizer, prompt_lines: list[dict], old: dict, ids: list[int], eos: int) -> None:
    """The rollout's first completion as a sample event, as tfjs emits it (the prompt's last message)."""
    messages = prompt_lines[ids[0]].get("messages") or [{}]
    completion = tokenizer.decode([t for t in old["completions"][0] if t != eos])
    emit({"type": "sample", "node": spec.node, "prompt": messages[-1].get("content", ""), "completion": completion})


def run_train_ppo(spec: NodeSpec) -> None:
    params: TrainParams = spec.params
    args, o = params.args, params.objective
    device, dtype, interrupt = train_start(spec)
    plan = json.loads(spec.pair_plan.read_text())
    prompt_lines = [json.loads(line) for line in (spec.require_input("tokenize") / "prompts.jsonl").read_text().splitlines() if line]
    prompts = [line["promptIds"] for line in prompt_lines]
    per_rollout = o.num_ppo_epochs * o.num_mini_batches
    total = len(plan["rollouts"]) * per_rollout
    model, tokenizer, _ = build_model(spec, device, dtype)
    method = METHODS[params.method.kind]
    reward = reward_model({"model": str(spec.require_input("model")), "adapter": str(reward_dir(spec, o.reward_model)), "padId": plan["padId"]}, device).eval()
    head = torch.nn.Parameter(score_weight(reward).detach().float().clone())
    optimizer, opt_name = make_optimizer(model, args, device, spec.node, loraplus_ratio(params.method))
    optimizer.add_param_group({"params": [head], "lr_scale": 1.0})
    factor = lr_factor(args, total)
    trainable, all_params = count_params(model)
    info(spec.node, f"torch {torch.__version__} on {device.type}; {opt_name}; {trainable:,} trainable of {all_params:,} parameters + the value head; "
         f"{len(prompts)} prompts, {len(plan['rollouts'])} rollouts × {per_rollout} steps; PPO, kl_coef {o.kl_coef}, cliprange {o.cliprange}, vf_coef {o.vf_coef}")
    old: dict | None = None  # the rollout the steps read; a checkpoint inside it carries it
    state, snapshot, checkpoint = resumable(spec, model, optimizer, method, total,
                                            extra=lambda folder: save_ppo_extra(folder, head, optimizer, old if state["step"] % per_rollout else None))
    done_at_start = int(state["step"])
    if done_at_start > 0:
        old = load_ppo_extra(list_checkpoints(spec.work_dir)[-1][1], head, optimizer, done_at_start, device)
    trainable_params = [p for g in optimizer.param_groups for p in g["params"]]
    run_start = time.perf_counter()
    for step_index in range(done_at_start, total):
        if interrupt.requested:
            break
        index, within = divmod(step_index, per_rollout)
        ids = plan["rollouts"][index]
        if within == 0 or old is None:
            old = rollout(model, reward, head, o, [prompts[i] for i in ids], plan, index, args.batch_size, args.seed, device)
            emit_sample(spec, tokenizer, prompt_lines, old, ids, plan["eosId"])
        rollout_stats = rollout_metrics(old)
        n = len(ids)
        size = -(-n // o.num_mini_batches)
        epoch, mini = divmod(within, o.num_mini_batches)
        order = rollout_orders(args.seed, index, n, o.num_ppo_epochs)[epoch]
        step_start = time.perf_counter()
        model.train()  # a resumed rollout skipped rollout()'s return to training mode
        torch.manual_seed(args.seed + step_index)  # dropout of step s from seed + s, as train.py
        lr = args.learning_rate * factor(step_index)
        set_lr(optimizer, lr)
        rows = order[mini * size : (mini + 1) * size]
        micro = [rows[s : s + args.batch_size] for s in range(0, len(rows), args.batch_size)]
        loss_sum, sums = 0.0, {}
        for mb in micro:
            batch = grpo_batch([old["prompts"][i] for i in mb], [old["completions"][i] for i in mb], plan["padId"], device, old["width"])
            logps, vpred, logits = policy_pass(model, head, batch, o.temperature)
            loss, stats = ppo_loss(o, logps, vpred, logits, old, torch.tensor(mb, device=device))
            (loss / len(micro)).backward()
            loss_sum += float(loss.detach()) / len(micro)
            for k, v in stats.items():
                sums[k] = sums.get(k, 0.0) + v / len(micro)
        norm = float(grad_norm(trainable_params, args.max_grad_norm))
        step = step_index + 1
        optimizer_update(optimizer, loss_sum, step, checkpoint)
        state["step"], state["epoch"], state["microBatch"] = step, step / (int(plan["stepsPerEpoch"]) * per_rollout), step * args.gradient_accumulation_steps
        state["lossHistory"].append(loss_sum)
        if step % args.log_every == 0 or step == total or step == done_at_start + 1:
            now = time.perf_counter()
            emit({"type": "step", "node": spec.node, "step": step, "totalSteps": total, "epoch": state["epoch"], "loss": loss_sum,
                  "learningRate": lr, "gradNorm": norm, "tokensPerSecond": float(old["mask"][rows].sum()) / max(now - step_start, 1e-9),
                  "etaSeconds": (now - run_start) / (step - done_at_start) * (total - step), "metrics": {**sums, **rollout_stats}})
        if cadence_hit(args.save_every, step, step % (int(plan["stepsPerEpoch"]) * per_rollout) == 0) and step < total:
            checkpoint()

    def write() -> None:
        write_outputs(spec, model, tokenizer, snapshot(), method)
        save_file({VALUE_HEAD_KEY: head.detach().float().cpu().contiguous()}, str(spec.out_dir / VALUE_HEAD_FILE))

    finish(interrupt, state, total, checkpoint, write)
