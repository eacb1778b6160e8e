"""The reward model's pairwise loss, as TRL 1.16's RewardTrainer computes it (`compute_loss`).

With rewards r_w of the chosen and r_l of the rejected sequence (the `score` head at each
sequence's last non-pad token, transformers' *ForSequenceClassification):

    loss = −log σ(r_w − r_l)                      (Bradley–Terry; Ouyang et al. 2022, Eq. 1)
         + c · (r_w + r_l)²                        (centering, Eisenstein et al. 2023, Eq. 2; c = center_rewards_coefficient)

The loss is the mean over pairs. Metrics as RewardTrainer logs them: accuracy and margin per pair;
min_reward, mean_reward, max_reward over the micro-batch's 2b rewards (entered per pair as the
micro-batch's value, so the step's mean over pairs is TRL's mean over its micro-batches).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def sequence_rewards(model, batch: dict, autocast) -> torch.Tensor:
    """The score head's reward of each row [2b] float32 (chosen rows, then rejected rows)."""
    with autocast():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False)
    return out.logits.squeeze(-1).float()


def rm_loss(objective, rewards: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Per-pair losses [b] and the metrics' per-pair values, from [2b] rewards (chosen then rejected)."""
    chosen, rejected = rewards.chunk(2)
    loss = -F.logsigmoid(chosen - rejected)
    if objective.center_rewards_coefficient is not None:
        loss = loss + objective.center_rewards_coefficient * (chosen + rejected) ** 2
    detached = rewards.detach()
    ones = torch.ones_like(chosen)
    metrics = {
        "accuracy": (chosen > rejected).float().detach(),
        "margin": (chosen - rejected).detach(),
        "min_reward": detached.min() * ones,
        "mean_reward": detached.mean() * ones,
        "max_reward": detached.max() * ones,
    }
    return loss, metrics
