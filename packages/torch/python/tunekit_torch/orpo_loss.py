"""ORPO's loss, as TRL 1.x's ORPOTrainer computes it (`odds_ratio_loss`, `concatenated_forward`).

With the length-averaged log-probabilities a_w = log π(w|x) / |w| and a_l of the chosen and
rejected answers (Hong et al. 2024, Eq. 4–7):

    log odds = (a_w − a_l) − (log(1 − e^{a_w}) − log(1 − e^{a_l}))
    loss     = NLL(x ++ w) − λ · log σ(log odds)

NLL is the token mean over every predicted token of the micro-batch's chosen sequences, prompt
included (TRL 1.16: "computed over the full prompt and response"). Each pair carries it, so the
mean of the per-pair losses over a micro-batch is TRL's loss. Rewards are λ·a.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .preference import PairLogps, reward_metrics


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 − eˣ) for x < 0, branching at −ln 2 as TRL does (no cancellation on either side)."""
    return torch.where(x < -math.log(2), torch.log1p(-torch.exp(x)), torch.log(-torch.expm1(x)))


def orpo_loss(objective, logps: PairLogps, batch: dict) -> tuple[torch.Tensor, dict]:
    """Per-pair losses [b] and the metrics' per-pair values, from the pair batch's log-probabilities."""
    lam, b = objective.beta, batch["pairs"]
    averages = logps.answer / batch["lengths"].clamp(min=1)
    chosen, rejected = averages.chunk(2)
    log_odds = (chosen - rejected) - (log1mexp(chosen) - log1mexp(rejected))
    ratio = F.logsigmoid(log_odds)
    # Σ over the chosen rows' predicted tokens / their count (attention mask minus each row's first token)
    nll = -logps.whole_chosen.sum() / (batch["attention_mask"][:b].sum() - b)
    loss = nll - lam * ratio
    return loss, {
        **reward_metrics(lam * chosen, lam * rejected, chosen, rejected),
        "nll_loss": nll.detach().expand(b),
        "log_odds_ratio": ratio.detach(),
        "log_odds_chosen": log_odds.detach(),
    }
