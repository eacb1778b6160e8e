"""Preference pairs from the tokenize artifact's `pairs/` shard set (docs/architecture.md,
"Preference shards"), batched as TRL's DataCollatorForPreference batches them: the b chosen
sequences (prompt ++ chosen) then the b rejected ones (prompt ++ rejected), right-padded, in one
forward pass; and the summed log-probability of each sequence's labelled answer tokens (and, for
ORPO's NLL, of every token of the chosen sequences).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .shards import open_shards, to_device


@dataclass
class Pair:
    record: str
    prompt: np.ndarray  # [prompt tokens] int32
    chosen: np.ndarray  # [chosen tokens] int32
    chosen_mask: np.ndarray  # [chosen tokens] uint8, 1 = carries loss
    rejected: np.ndarray
    rejected_mask: np.ndarray


def read_pairs(tokenize_dir: Path) -> list[Pair]:
    """Every pair of `<tokenize>/pairs/`, in record order (readPreferenceShards in @tunekit/data)."""
    folder = tokenize_dir / "pairs"
    layout = json.loads((folder / "index.json").read_text())["preference"]
    shards = open_shards(folder)
    pairs = []
    for i, record in enumerate(layout["records"]):
        start, n = shards.offsets[i], shards.lengths[i]
        ids, mask = np.asarray(shards.ids[start : start + n]), np.asarray(shards.mask[start : start + n])
        p = int(layout["promptLengths"][i])
        c = p + int(layout["chosenLengths"][i])
        pairs.append(Pair(record, ids[:p], ids[p:c], mask[p:c], ids[c:], mask[c:]))
    return pairs


def pair_batch(pairs: list[Pair], pad_id: int, device: torch.device) -> dict:
    """input_ids, attention_mask and completion_mask [2b, length]: rows 0..b-1 chosen, b..2b-1 rejected."""
    rows = [(p.prompt, p.chosen, p.chosen_mask) for p in pairs] + [(p.prompt, p.rejected, p.rejected_mask) for p in pairs]
    length = max(len(prompt) + len(answer) for prompt, answer, _ in rows)
    input_ids = np.full((len(rows), length), pad_id, dtype=np.int64)
    attention = np.zeros((len(rows), length), dtype=np.int64)
    completion = np.zeros((len(rows), length), dtype=np.int64)
    for r, (prompt, answer, mask) in enumerate(rows):
        p, n = len(prompt), len(prompt) + len(answer)
        input_ids[r, :p], input_ids[r, p:n] = prompt, answer
        attention[r, :n] = 1
        completion[r, p:n] = mask
    return {"input_ids": to_device(input_ids, device), "attention_mask": to_device(attention, device),
            "completion_mask": to_device(completion, device), "pairs": len(pairs),
            # answer tokens that carry loss, per row (IPO's, ORPO's and SimPO's length normalisation)
            "lengths": to_device(completion.sum(axis=1), device)}


@dataclass
class PairLogps:
    answer: torch.Tensor  # [2b] Σ log p over each row's labelled answer tokens, chosen rows then rejected
    whole_chosen: torch.Tensor | None  # [b] Σ log p over every token after the first of each chosen row (ORPO's NLL)


def sequence_logps(model, batch: dict, autocast, whole_chosen: bool = False) -> PairLogps:
    """Σ_t log p(ids[t+1] | ids[..t]) over the labelled answer tokens of each row, float32; with
    `whole_chosen`, over every predicted token of each chosen row too (prompt included)."""
    with autocast():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False)
    answer = batch["completion_mask"][:, 1:].bool()  # position t predicts token t+1
    picked = answer.clone()
    if whole_chosen:
        b = batch["pairs"]
        # a chosen row's token predicts the next while both are in the sequence (right padding)
        picked[:b] |= batch["attention_mask"][:b, 1:].bool()
    # only the picked positions: [picked, vocab], not [2b, length, vocab]
    rows, cols = picked.nonzero(as_tuple=True)
    logits = out.logits[rows, cols].float()
    targets = batch["input_ids"][rows, cols + 1]
    # log p = logit[target] − logsumexp(logits), as tfjs computes it (objectives/pair-batch.ts)
    per_token = logits.gather(1, targets.unsqueeze(1)).squeeze(1) - torch.logsumexp(logits, dim=-1)
    n = batch["input_ids"].shape[0]
    in_answer = answer[rows, cols]
    sums = torch.zeros(n, dtype=per_token.dtype, device=per_token.device).index_add(0, rows[in_answer], per_token[in_answer])
    if not whole_chosen:
        return PairLogps(sums, None)
    whole = torch.zeros(n, dtype=per_token.dtype, device=per_token.device).index_add(0, rows, per_token)[: batch["pairs"]]
    return PairLogps(sums, whole)


def reward_metrics(chosen_rewards: torch.Tensor, rejected_rewards: torch.Tensor, chosen_logps: torch.Tensor, rejected_logps: torch.Tensor) -> dict:
    """TRL's reward metrics per pair ([b] each), as the preference trainers (DPO, ORPO, CPO/SimPO) name
    them; what a reward is depends on the loss. Accuracy counts chosen reward > rejected, as TRL does."""
    chosen_rewards, rejected_rewards = chosen_rewards.detach(), rejected_rewards.detach()
    return {
        "rewards/chosen": chosen_rewards,
        "rewards/rejected": rejected_rewards,
        "rewards/accuracies": (chosen_rewards > rejected_rewards).float(),
        "rewards/margins": chosen_rewards - rejected_rewards,
        "logps/chosen": chosen_logps.detach(),
        "logps/rejected": rejected_logps.detach(),
    }
