"""SimPO's loss, as TRL 1.x's CPOTrainer computes it with `loss_type="simpo"` (`cpo_loss`).

With the length-averaged log-probabilities a_w = log π(w|x) / |w| and a_l of the chosen and
rejected answers and z = β (a_w − a_l) − γ (Meng et al. 2024, Eq. 6):

    loss = −(1 − ε) log σ(z) − ε log σ(−z) + α · NLL(w)

ε = label smoothing, α = cpo_alpha; NLL(w) is the token mean over the micro-batch's labelled
chosen-answer tokens (CPO's behaviour cloning term), carried by each pair so that the mean of the
per-pair losses over a micro-batch is TRL's loss. Rewards are β·a. `nll_loss` is logged only with
α > 0 (TRL logs a placeholder 0 when it skips the term).
"""

from __future__ import annotations

import torch.nn.functional as F

from .preference import PairLogps, reward_metrics


def simpo_loss(objective, logps: PairLogps, batch: dict) -> tuple:
    """Per-pair losses [b] and the metrics' per-pair values, from the pair batch's log-probabilities."""
    beta, gamma, alpha, eps, b = objective.beta, objective.simpo_gamma, objective.cpo_alpha, objective.label_smoothing, batch["pairs"]
    averages = logps.answer / batch["lengths"].clamp(min=1)
    chosen, rejected = averages.chunk(2)
    z = beta * (chosen - rejected) - gamma
    loss = -(1 - eps) * F.logsigmoid(z) - eps * F.logsigmoid(-z)
    nll = -logps.answer[:b].sum() / batch["lengths"][:b].sum().clamp(min=1)
    if alpha > 0:
        loss = loss + alpha * nll
    metrics = reward_metrics(beta * chosen, beta * rejected, chosen, rejected)
    if alpha > 0:
        metrics["nll_loss"] = nll.detach().expand(b)
    return loss, metrics
