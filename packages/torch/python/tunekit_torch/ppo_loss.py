"""PPO's rollout arithmetic and loss, as TRL 0.29.1's PPOTrainer.train() computes them
(trl/experimental/ppo/ppo_trainer.py), on TRL's layout of a rollout batch (grpo_loss.grpo_batch:
prompts left-padded, completions right-padded, width W = the longest completion).

Rollout (lines 753–794), row r's completion L_r tokens long (its eos included):
    KL_t = log π_old − log π_ref (k1)  or  (e^{lr} − 1) − lr, lr = log π_ref − log π_old (k3)
    r_t = −kl_coef·KL_t,  r_end += score (end = L_r when L_r < W, else L_r − 1; score −= missing_eos_penalty without eos)
    δ_t = r_t + γ·V_{t+1} − V_t,  A_t = δ_t + γλ·A_{t+1};  R_t = A_t + V_t;  A ← whiten(A) over the completion
Values keep one position past the completion (t ≤ L_r: TRL's padding_mask_p1).

Loss of a micro-batch (lines 805–843):
    ratio = exp(log π − log π_old)
    L_pg = mean_t max(−A·ratio, −A·clip(ratio, 1 − ε, 1 + ε))               over completion tokens
    L_vf = ½·mean_t max((v − R)², (clip(v, v_old ± ε_v) − R)²)               over value positions
    loss = L_pg + vf_coef·L_vf
"""

from __future__ import annotations

import torch


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum() / mask.sum()


def masked_whiten(values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """(x − mean) · rsqrt(var + 1e-8) over the masked values, var unbiased; the mean added back unless shift_mean."""
    mean = masked_mean(values, mask)
    variance = masked_mean((values - mean) ** 2, mask) * (mask.sum() / (mask.sum() - 1))
    whitened = (values - mean) * torch.rsqrt(variance + 1e-8)
    return whitened if shift_mean else whitened + mean


def policy_pass(model, value_head: torch.Tensor, batch: dict, temperature: float, with_values: bool = True) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(log p [b, W] of each completion token from logits / (temperature + 1e-7), values [b, W] of the
    value head Linear(hidden, 1, bias=False) on the last hidden state at the token before each, logits [b, W, vocab])."""
    attention = batch["attention_mask"]
    positions = (attention.cumsum(1) - attention).clamp(min=0)  # TRL's forward(): position ids over the real tokens
    out = model(input_ids=batch["input_ids"], attention_mask=attention, position_ids=positions, output_hidden_states=True, use_cache=False)
    c = batch["completion_length"]
    logits = out.logits[:, -c - 1 : -1, :].float() / (temperature + 1e-7)
    targets = batch["input_ids"][:, -c:]
    logps = torch.gather(logits.log_softmax(dim=-1), 2, targets.unsqueeze(-1)).squeeze(-1)
    values = (out.hidden_states[-1][:, -c - 1 : -1, :].float() @ value_head.t()).squeeze(-1) if with_values else None
    return logps, values, logits


def rollout_masks(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """From the completion mask [b, W]: the lengths L [b], padding_mask (t ≥ L) and padding_mask_p1 (t > L)."""
    lengths = mask.sum(dim=1)
    idx = torch.arange(mask.shape[1], device=mask.device).unsqueeze(0)
    return lengths, idx >= lengths.unsqueeze(1), idx > lengths.unsqueeze(1)


def ppo_advantages(objective, logprobs: torch.Tensor, ref_logprobs: torch.Tensor, values: torch.Tensor, scores: torch.Tensor,
                   has_eos: torch.Tensor, mask: torch.Tensor) -> dict:
    """Advantages [b, W], returns [b, W], the masked values, scores and per-row KL sums of a rollout (all detached)."""
    lengths, padding, padding_p1 = rollout_masks(mask)
    if objective.missing_eos_penalty is not None:
        scores = torch.where(has_eos, scores, scores - objective.missing_eos_penalty)
    logprobs = torch.masked_fill(logprobs, padding, 1.0)  # TRL's INVALID_LOGPROB: KL 0 past the end
    ref_logprobs = torch.masked_fill(ref_logprobs, padding, 1.0)
    values = torch.masked_fill(values, padding_p1, 0)
    logr = ref_logprobs - logprobs
    kl = -logr if objective.kl_estimator == "k1" else (logr.exp() - 1) - logr
    non_score = -objective.kl_coef * kl
    rewards = non_score.clone()
    width = rewards.size(1)
    rows = torch.arange(rewards.size(0), device=rewards.device)
    end = torch.where(lengths < width, lengths, lengths - 1)
    rewards[rows, end] += scores
    if objective.whiten_rewards:
        rewards = torch.masked_fill(masked_whiten(rewards, ~padding_p1, shift_mean=False), padding_p1, 0)
    last = torch.zeros_like(rewards[:, 0])
    reversed_advantages = []
    for t in reversed(range(width)):
        next_values = values[:, t + 1] if t < width - 1 else 0.0
        delta = rewards[:, t] + objective.gamma * next_values - values[:, t]
        last = delta + objective.gamma * objective.lam * last
        reversed_advantages.append(last)
    advantages = torch.stack(reversed_advantages[::-1], dim=1)
    returns = advantages + values
    advantages = torch.masked_fill(masked_whiten(advantages, ~padding), padding, 0)
    return {"advantages": advantages, "returns": returns, "values": values, "scores": scores, "kl": kl.sum(1), "non_score": non_score.sum(1),
            "padding": padding, "padding_p1": padding_p1}


def ppo_loss(objective, logps: torch.Tensor, vpred: torch.Tensor, logits: torch.Tensor, old: dict, mb: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The loss of micro-batch rows `mb` (indices into the rollout `old`, ppo_advantages' result plus its
    'logprobs'), from the policy's log p [b, W], the value head's [b, W] and the scaled logits; and TRL's statistics."""
    padding, padding_p1 = old["padding"][mb], old["padding_p1"][mb]
    logps = torch.masked_fill(logps, padding, 1.0)
    vpred = torch.masked_fill(vpred, padding_p1, 0)
    old_values, returns, advantages = old["values"][mb], old["returns"][mb], old["advantages"][mb]
    vclipped = torch.clamp(vpred, old_values - objective.cliprange_value, old_values + objective.cliprange_value)
    vf1 = torch.square(vpred - returns)
    vf2 = torch.square(vclipped - returns)
    vf_loss = 0.5 * masked_mean(torch.max(vf1, vf2), ~padding_p1)
    diff = logps - torch.masked_fill(old["logprobs"][mb], padding, 1.0)
    ratio = torch.exp(diff)
    pg1 = -advantages * ratio
    pg2 = -advantages * torch.clamp(ratio, 1.0 - objective.cliprange, 1.0 + objective.cliprange)
    pg_loss = masked_mean(torch.max(pg1, pg2), ~padding)
    loss = pg_loss + objective.vf_coef * vf_loss
    with torch.no_grad():
        valid = (~padding).float()
        entropy = torch.logsumexp(logits, dim=-1) - torch.sum(torch.softmax(logits, dim=-1) * logits, dim=-1)
        stats = {
            "loss/policy_avg": float(pg_loss), "loss/value_avg": float(vf_loss),
            "policy/clipfrac_avg": float(masked_mean((pg2 > pg1).float(), valid)), "val/clipfrac_avg": float(masked_mean((vf2 > vf1).float(), (~padding_p1).float())),
            "policy/approxkl_avg": float(0.5 * masked_mean(diff**2, valid)), "policy/entropy_avg": float(masked_mean(entropy, valid)), "val/ratio": float(masked_mean(ratio, valid)),
        }
    return loss, stats
