"""The KTO family's losses, as TRL 1.16's KTOTrainer computes them (`_compute_loss`).

With the log-ratio ρ = log π(y|x) − log π_ref(y|x) of an example's completion and z₀ the micro-batch's
KL estimate — the mean over the batch of the policy's minus the reference's log-probability of each
KL completion (prompt x_i with its neighbour's completion), computed without gradient, clamped at 0:

    kto:                desirable  w_D (1 − σ(β (ρ − z₀)))    undesirable  w_U (1 − σ(β (z₀ − ρ)))   (KTO, Eq. 7)
    apo_zero_unpaired:  desirable  w_D (1 − σ(β ρ))           undesirable  w_U σ(β ρ)                 (APO-zero, unpaired)

The loss is the mean over examples; rewards are β ρ, logged per side (objectives/kto.ts in tfjs).
"""

from __future__ import annotations

import torch


def kl_estimate(policy_kl: torch.Tensor, ref_kl: torch.Tensor) -> torch.Tensor:
    """z₀ = max(0, mean(log π(y'|x) − log π_ref(y'|x))) over a micro-batch's KL completions, detached."""
    return (policy_kl - ref_kl).mean().detach().clamp(min=0)


def kto_loss(objective, logps: torch.Tensor, ref_logps: torch.Tensor, desirable: torch.Tensor, kl: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Per-example losses [b] and the metrics' sums with their counts, from [b] log-probabilities."""
    beta = objective.beta
    z0 = kl if objective.loss_type == "kto" else torch.zeros_like(kl)
    ratios = logps - ref_logps
    sign = desirable.to(logps.dtype) * 2 - 1  # +1 desirable, −1 undesirable
    weight = torch.where(desirable, objective.desirable_weight, objective.undesirable_weight).to(logps.dtype)
    losses = weight * (1 - torch.sigmoid(sign * beta * (ratios - z0)))
    rewards = beta * ratios.detach()
    values = logps.detach()
    metrics = {
        "kl": kl.detach(), "batches": torch.ones((), device=logps.device),
        "chosen": desirable.sum(), "rejected": (~desirable).sum(),
        "rewards/chosen": rewards[desirable].sum(), "rewards/rejected": rewards[~desirable].sum(),
        "logps/chosen": values[desirable].sum(), "logps/rejected": values[~desirable].sum(),
    }
    return losses, metrics


def kto_step_metrics(sums: dict) -> dict:
    """A step's metrics from its micro-batches' sums, as KTOTrainer logs a batch (ktoStepMetrics in tfjs)."""
    out = {"kl": float(sums["kl"]) / float(sums["batches"])}
    for side in ("chosen", "rejected"):
        n = float(sums[side])
        if n > 0:
            out[f"rewards/{side}"] = float(sums[f"rewards/{side}"]) / n
            out[f"logps/{side}"] = float(sums[f"logps/{side}"]) / n
    if float(sums["chosen"]) > 0 and float(sums["rejected"]) > 0:
        out["rewards/margins"] = out["rewards/chosen"] - out["rewards/rejected"]
    return out
