"""The train node of a preference stage (DPO, ORPO, SimPO, the reward model; KTO's data and loss in
train_kto.py): the policy (the recipe's method over the base) on the tokenize artifact's pairs (kto:
examples), following the pair plan the TS driver wrote (`pairPlan`, @tunekit/data's pairPlan); DPO
against the reference log-probabilities of the ref-logprobs node, ORPO and SimPO without a
reference, the reward model (rm) through the `score` head of AutoModelForSequenceClassification.

One forward pass per micro-batch over its chosen and rejected sequences together (TRL's concatenated
forward). Loss of an optimiser step = mean over all its pairs of the per-pair loss (dpo_loss.py,
orpo_loss.py, simpo_loss.py, rm_loss.py); logged metrics are TRL's (`rewards/chosen`, …; the reward
model's `accuracy`, `margin`, …), means over the step's pairs.
"""

from __future__ import annotations

import contextlib
import json
import time

import torch

from .dpo_loss import dpo_loss
from .events import WorkerError, emit, info
from .methods import METHODS
from .modeling import count_params
from .optim import loraplus_ratio, lr_factor, make_optimizer, set_lr
from .orpo_loss import orpo_loss
from .params import TrainParams
from .preference import PairLogps, PreferenceData, pair_batch, read_pairs, sequence_logps
from .simpo_loss import simpo_loss
from .rm_loss import rm_loss, sequence_rewards
from .shards import open_shards, to_device
from .spec import NodeSpec
from .train import build_model, cadence_hit, finish, grad_norm, optimizer_update, resumable, train_start, write_outputs
from .train_kto import kto_objective

# Each preference objective's per-pair losses and metrics, keyed by stage kind: (objective, log-probabilities,
# batch, reference [2b] or None) → (losses [b], {metric: [b]}). Only DPO reads the reference.
PAIR_LOSSES = {
    "dpo": lambda o, logps, batch, reference: dpo_loss(o, logps.answer, reference, batch["lengths"]),
    "orpo": lambda o, logps, batch, reference: orpo_loss(o, logps, batch),
    "simpo": lambda o, logps, batch, reference: simpo_loss(o, logps, batch),
}
# objectives that score every token of the chosen sequences, not just the answers (ORPO's NLL)
WHOLE_CHOSEN = {"orpo"}


def describe(objective) -> str:
    """The objective and its options for the start line: `DPO loss sigmoid, beta 0.1`."""
    if objective.kind == "kto":
        return f"KTO loss {objective.loss_type}, beta {objective.beta}, weights {objective.desirable_weight} / {objective.undesirable_weight}"
    if objective.kind == "dpo":
        return f"DPO loss {objective.loss_type}, beta {objective.beta}"
    if objective.kind == "orpo":
        return f"ORPO, lambda {objective.beta}"
    if objective.kind == "rm":
        return f"reward model, center_rewards_coefficient {objective.center_rewards_coefficient}"
    return f"SimPO, beta {objective.beta}, gamma {objective.simpo_gamma}, cpo_alpha {objective.cpo_alpha}"


def pair_objective(spec: NodeSpec, objective, model, device, autocast) -> PreferenceData:
    """The pair stages over pair micro-batches (chosen and rejected rows in one forward pass); DPO
    against the ref-logprobs node; metrics are means over the step's pairs."""
    tokenize = spec.require_input("tokenize")
    pairs = read_pairs(tokenize)
    pad_id = open_shards(tokenize / "pairs").pad_id
    ref_dir = spec.input_dir("ref-logprobs")  # dpo's reference; orpo and simpo have none
    ref = json.loads((ref_dir / "ref-logprobs.json").read_text()) if ref_dir is not None else None
    ref_logps = torch.tensor([ref["chosen"], ref["rejected"]], dtype=torch.float32) if ref else None  # [2, pairs]
    pair_loss, whole_chosen = PAIR_LOSSES[objective.kind], objective.kind in WHOLE_CHOSEN

    def micro(mb: list[int]):
        batch = pair_batch([pairs[i] for i in mb], pad_id, device)
        reference = to_device(ref_logps[:, mb].reshape(-1).numpy(), device) if ref_logps is not None else None  # chosen then rejected
        logps: PairLogps = sequence_logps(model, batch, autocast, whole_chosen)
        losses, metrics = pair_loss(objective, logps, batch, reference)
        return losses, metrics, int(batch["attention_mask"].sum())

    return PreferenceData(len(pairs), "pairs", micro, lambda sums, n: {name: float(v) / n for name, v in sums.items()})


def rm_objective(spec: NodeSpec, objective, model, device, autocast) -> PreferenceData:
    """The reward model over pair micro-batches: each row's reward from the `score` head, TRL's
    pairwise loss and metrics, means over the step's pairs."""
    tokenize = spec.require_input("tokenize")
    pairs = read_pairs(tokenize)
    pad_id = open_shards(tokenize / "pairs").pad_id

    def micro(mb: list[int]):
        batch = pair_batch([pairs[i] for i in mb], pad_id, device)
        losses, metrics = rm_loss(objective, sequence_rewards(model, batch, autocast))
        return losses, metrics, int(batch["attention_mask"].sum())

    return PreferenceData(len(pairs), "pairs", micro, lambda sums, n: {name: float(v) / n for name, v in sums.items()})


OBJECTIVES = {"kto": kto_objective, "rm": rm_objective}  # the pair stages: pair_objective


def run_train_dpo(spec: NodeSpec) -> None:
    params: TrainParams = spec.params
    args, objective = params.args, params.objective
    device, dtype, interrupt = train_start(spec)
    if spec.pair_plan is None:
        raise WorkerError("WorkerFailed", f"node {spec.node!r} trains preference pairs but node.json names no pairPlan")
    plan = json.loads(spec.pair_plan.read_text())
    steps, per_epoch = plan["steps"], int(plan["stepsPerEpoch"])
    total = len(steps)
    # the reward model scores with its head (AutoModelForSequenceClassification reads the last non-pad token)
    reward_pad_id = open_shards(spec.require_input("tokenize") / "pairs").pad_id if objective.kind == "rm" else None
    model, tokenizer, _ = build_model(spec, device, dtype, reward_pad_id=reward_pad_id)
    method = METHODS[params.method.kind]
    optimizer, opt_name = make_optimizer(model, args, device, spec.node, loraplus_ratio(params.method))
    factor = lr_factor(args, total)
    trainable, all_params = count_params(model)
    amp = device.type == "cuda" and dtype in (torch.bfloat16, torch.float16)
    autocast = (lambda: torch.autocast("cuda", dtype=dtype)) if amp else contextlib.nullcontext
    data = OBJECTIVES.get(objective.kind, pair_objective)(spec, objective, model, device, autocast)
    info(spec.node, f"torch {torch.__version__} on {device.type}, {str(dtype).replace('torch.', '')} weights; {opt_name}; "
         f"{trainable:,} trainable of {all_params:,} parameters; {data.count} {data.unit}, {total} steps; "
         f"{describe(objective)}")

    state, snapshot, checkpoint = resumable(spec, model, optimizer, method, total)

    model.train()
    trainable_params = [p for g in optimizer.param_groups for p in g["params"]]
    done_at_start = int(state["step"])
    run_start = time.perf_counter()
    for index in range(done_at_start, total):
        if interrupt.requested:
            break
        torch.manual_seed(args.seed + index)  # dropout of step s from seed + s, as train.py
        lr = args.learning_rate * factor(index)
        set_lr(optimizer, lr)
        step_start = time.perf_counter()
        micro_batches = steps[index]
        step_pairs = sum(len(mb) for mb in micro_batches)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        sums: dict[str, torch.Tensor] = {}
        tokens = 0
        for mb in micro_batches:
            losses, metrics, batch_tokens = data.micro(mb)
            tokens += batch_tokens
            # Σ per-item losses / items of the step: accumulation equals one batch of all the step's items
            (losses.sum() / step_pairs).backward()
            loss_sum += losses.detach().double().sum()
            for name, values in metrics.items():
                sums[name] = sums.get(name, torch.zeros((), dtype=torch.float64, device=device)) + values.double().sum()
        norm = grad_norm(trainable_params, args.max_grad_norm)
        step_loss, norm_value = (v / d for v, d in zip(torch.stack([loss_sum, norm.detach().double()]).tolist(), (step_pairs, 1)))
        optimizer_update(optimizer, step_loss, index + 1, checkpoint)
        step = index + 1
        state["step"], state["epoch"] = step, step / per_epoch
        state["microBatch"] = sum(len(s) for s in steps[:step])
        state["lossHistory"].append(step_loss)
        if step % args.log_every == 0 or step == total or step == done_at_start + 1:
            now = time.perf_counter()
            event = {"type": "step", "node": spec.node, "step": step, "totalSteps": total, "epoch": state["epoch"],
                     "loss": step_loss, "learningRate": lr, "gradNorm": norm_value,
                     "tokensPerSecond": tokens / max(now - step_start, 1e-9),
                     "etaSeconds": (now - run_start) / (step - done_at_start) * (total - step),
                     "metrics": data.step_metrics(sums, step_pairs)}
            if device.type == "cuda":
                event["memoryBytes"] = int(torch.cuda.max_memory_allocated())
            emit(event)
        if cadence_hit(args.save_every, step, step % per_epoch == 0 or step == total) and step < total:
            checkpoint()

    finish(interrupt, state, total, checkpoint, lambda: write_outputs(spec, model, tokenizer, snapshot(), method))
