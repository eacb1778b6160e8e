"""The DPO family's losses, as TRL 1.x's DPOTrainer computes them (`_compute_loss`, reverse KL).

With policy and reference log-probabilities of the chosen (w) and rejected (l) answers,
log-ratios ρ_w = log π(w) − log π_ref(w), ρ_l likewise, and Δ = ρ_w − ρ_l:

    sigmoid:  −log σ(β Δ)                                    (DPO, Rafailov et al. 2023, Eq. 7)
    hinge:    max(0, 1 − β Δ)                                 (SLiC)
    ipo:      (ρ_w / |w| − ρ_l / |l| − 1 / (2β))²              (IPO, Eq. 17, length-averaged as TRL)
    robust:   (−(1−ε) log σ(β Δ) + ε log σ(−β Δ)) / (1 − 2ε)   (Robust DPO, ε = label smoothing)

The loss is the mean over pairs; rewards are β ρ (the summed log-ratios, for every loss type).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .preference import reward_metrics


def dpo_loss(objective, logps: torch.Tensor, ref_logps: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Per-pair losses [b] and the metrics' per-pair values, from [2b] log-probabilities (chosen then rejected)."""
    beta, eps = objective.beta, objective.label_smoothing
    chosen, rejected = logps.chunk(2)
    ratios = logps - ref_logps
    chosen_ratio, rejected_ratio = ratios.chunk(2)
    delta = chosen_ratio - rejected_ratio
    kind = objective.loss_type
    if kind == "sigmoid":
        loss = -F.logsigmoid(beta * delta)
    elif kind == "hinge":
        loss = torch.relu(1 - beta * delta)
    elif kind == "ipo":
        chosen_len, rejected_len = lengths.chunk(2)
        avg = chosen_ratio / chosen_len.clamp(min=1) - rejected_ratio / rejected_len.clamp(min=1)
        loss = (avg - 1 / (2 * beta)) ** 2
    elif kind == "robust":
        loss = (-(1 - eps) * F.logsigmoid(beta * delta) + eps * F.logsigmoid(-beta * delta)) / (1 - 2 * eps)
    else:
        raise ValueError(f"unknown DPO loss type {kind!r}")
    return loss, reward_metrics(beta * chosen_ratio, beta * rejected_ratio, chosen, rejected)
