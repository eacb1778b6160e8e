"""GRPO's advantages and loss, as TRL 1.16's GRPOTrainer computes them (one policy update per
generation batch: num_iterations 1, importance_sampling_level 'token').

Advantages (`_generate_and_score_completions`): r_i = Σ_f w_f r_if, A_i = (r_i − mean_g) / (std + 1e-4)
with the group's std (scale_rewards 'group'), the batch's ('batch'), or no division ('none'); torch.std
is unbiased, a NaN advantage is 0.

Per token (`_compute_loss`), with log p of logits / temperature:
    ratio_t = exp(log π(o_t) − log π_old(o_t))          (π_old = this pass, detached: ratio 1)
    KL_t = exp(ref_t − log π_t) − (ref_t − log π_t) − 1                (the k3 estimator)
    ℓ_t = −min(ratio_t·A, clip(ratio_t, 1−ε, 1+ε)·A) + β·KL_t·ratio_t  (use_bias_correction_kl, TRL's default)
The loss: dapo Σ ℓ / (completion tokens of the generation batch); bnpo Σ ℓ / tokens of the micro-batch;
grpo the mean over completions of each one's token mean; dr_grpo Σ ℓ / (completions × max_completion_length);
all but dapo then divided by the accumulation steps.
"""

from __future__ import annotations

import torch


def group_advantages(per_function: torch.Tensor, weights: list[float] | None, num_generations: int, scale: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(rewards [n], advantages [n], stds [n]) from the rewards of each function [n, functions]; rows group by group."""
    w = torch.tensor(weights if weights is not None else [1.0] * per_function.shape[1], dtype=per_function.dtype)
    rewards = (per_function * w.unsqueeze(0)).sum(dim=1)
    grouped = rewards.view(-1, num_generations)
    mean = grouped.mean(dim=1).repeat_interleave(num_generations)
    if scale == "batch":
        std = rewards.std().expand_as(rewards)
    else:
        std = grouped.std(dim=1).repeat_interleave(num_generations)
    advantages = rewards - mean
    if scale != "none":
        advantages = advantages / (std + 1e-4)
    return rewards, torch.nan_to_num(advantages, nan=0.0), std


def completion_logps(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, completion_length: int, temperature: float,
                     position_ids: torch.Tensor | None = None) -> torch.Tensor:
    """log p of each of the last `completion_length` tokens of each row [b, c], from logits / temperature
    (TRL's `_get_per_token_logps_and_entropies`: the logits of the positions before them). TRL passes no
    position ids (a left-padded row's count from its padding); the train node passes them counted over
    each row's own tokens, as generation and tfjs's right-padded rows count them."""
    extra = {} if position_ids is None else {"position_ids": position_ids}
    logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, **extra).logits  # [b, seq, vocab]
    logits = logits[:, -completion_length - 1 : -1, :].float() / temperature
    targets = input_ids[:, -completion_length:]
    return torch.gather(logits.log_softmax(dim=-1), 2, targets.unsqueeze(-1)).squeeze(-1)


def grpo_loss(objective, logps: torch.Tensor, ref_logps: torch.Tensor | None, advantages: torch.Tensor, mask: torch.Tensor,
              generation_tokens: int, accumulation_steps: int) -> tuple[torch.Tensor, dict]:
    """The micro-batch's loss (its share of the step's) and the sums behind TRL's `kl` and
    `clip_ratio/region_mean`, from log p [b, c], the reference's [b, c] (β > 0), advantages [b] and
    the completion mask [b, c]."""
    mask = mask.to(logps.dtype)
    a = advantages.unsqueeze(1)
    ratio = torch.exp(logps - logps.detach())
    clipped = torch.clamp(ratio, 1 - objective.epsilon, 1 + objective.epsilon)
    per_token = -torch.min(ratio * a, clipped * a)
    kl_sum = torch.zeros(())
    if objective.beta != 0.0:
        kl = torch.exp(ref_logps - logps) - (ref_logps - logps) - 1
        kl_sum = (kl * mask).sum().detach()
        # TRL's use_bias_correction_kl (its default): KL · ratio, the same value, one more gradient term KL · ∇log π
        per_token = per_token + objective.beta * kl * ratio
    kind = objective.loss_type
    if kind == "dapo":
        loss = (per_token * mask).sum() / max(generation_tokens, 1)
    elif kind == "bnpo":
        loss = (per_token * mask).sum() / mask.sum().clamp(min=1.0) / accumulation_steps
    elif kind == "grpo":
        loss = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / accumulation_steps
    else:  # dr_grpo
        loss = (per_token * mask).sum() / (per_token.size(0) * objective.max_completion_length) / accumulation_steps
    region = ((ratio < 1 - objective.epsilon) & (a < 0)) | ((ratio > 1 + objective.epsilon) & (a > 0))
    return loss, {"_kl": kl_sum, "_clipped": (region.to(mask.dtype) * mask).sum().detach(), "_tokens": mask.sum().detach()}


def grpo_batch(prompts: list[list[int]], completions: list[list[int]], pad_id: int, device, width: int | None = None) -> dict:
    """TRL's layout of a generation batch: prompts left-padded, completions right-padded (to `width`,
    default the longest: ppo's micro-batches keep their rollout's), concatenated; the completion mask
    marks each completion's own tokens (eos included)."""
    p_len = max(len(p) for p in prompts)
    c_len = width if width is not None else max(len(c) for c in completions)
    ids, attention, mask = [], [], []
    for p, c in zip(prompts, completions):
        ids.append([pad_id] * (p_len - len(p)) + p + c + [pad_id] * (c_len - len(c)))
        attention.append([0] * (p_len - len(p)) + [1] * (len(p) + len(c)) + [0] * (c_len - len(c)))
        mask.append([1] * len(c) + [0] * (c_len - len(c)))
    as_tensor = lambda rows: torch.tensor(rows, dtype=torch.long, device=device)
    return {"input_ids": as_tensor(ids), "attention_mask": as_tensor(attention), "completion_mask": as_tensor(mask), "completion_length": c_len}
