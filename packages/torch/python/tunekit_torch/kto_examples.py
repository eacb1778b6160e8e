"""The kto stage's examples, as the TS side lists them in kto-examples.json (@tunekit/data's
requireKtoExamples: the tokenize artifact's pairs unpaired as TRL's unpair_preference_dataset does,
then its unpaired examples), and their micro-batches as TRL's DataCollatorForUnpairedPreference lays
them out: rows prompt ++ completion, and with a KL term rows prompt ++ KL completion (the completion
of `kl_of[i]`, rotated within runs of args.batchSize examples), right-padded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .preference import answer_rows_batch, preference_samples, read_pairs
from .shards import open_shards


@dataclass
class Example:
    record: str
    prompt: np.ndarray  # [prompt tokens] int32
    completion: np.ndarray  # [completion tokens] int32
    mask: np.ndarray  # [completion tokens] uint8, 1 = carries loss
    desirable: bool


def _read_unpaired(tokenize_dir: Path) -> list[Example]:
    """Every example of `<tokenize>/unpaired/`, in record order (readPreferenceShards in @tunekit/data)."""
    folder = tokenize_dir / "unpaired"
    if not (folder / "index.json").exists():
        return []
    out = []
    for layout, i, record, ids, mask in preference_samples(folder):
        p = int(layout["promptLengths"][i])
        out.append(Example(record, ids[:p], ids[p:], mask[p:], bool(layout["desirable"][i])))
    return out


def read_kto_examples(tokenize_dir: Path, listing: Path) -> tuple[list[Example], list[int] | None, int]:
    """The examples in kto-examples.json's order, the KL completion of each (None without a KL term) and the pad id."""
    spec = json.loads(listing.read_text())
    pairs = read_pairs(tokenize_dir) if (tokenize_dir / "pairs" / "index.json").exists() else []
    unpaired = _read_unpaired(tokenize_dir)
    examples = []
    for source in spec["examples"]:
        if source[0] == "pairs":
            p, side = pairs[source[1]], source[2]
            completion, mask = (p.chosen, p.chosen_mask) if side == "chosen" else (p.rejected, p.rejected_mask)
            examples.append(Example(p.record, p.prompt, completion, mask, side == "chosen"))
        else:
            examples.append(unpaired[source[1]])
    folder = tokenize_dir / ("pairs" if pairs else "unpaired")
    return examples, spec["klOf"], open_shards(folder).pad_id


def kto_batch(examples: list[Example], indices: list[int], kl_of: list[int] | None, pad_id: int, device: torch.device) -> dict:
    """The completion rows of `indices` (`desirable` [b] bool) and, with `kl_of`, their KL rows under `kl`."""
    chosen = [examples[i] for i in indices]
    batch = answer_rows_batch([(e.prompt, e.completion, e.mask) for e in chosen], pad_id, device)
    batch["desirable"] = torch.tensor([e.desirable for e in chosen], dtype=torch.bool, device=device)
    if kl_of is not None:
        batch["kl"] = answer_rows_batch([(e.prompt, examples[kl_of[i]].completion, examples[kl_of[i]].mask) for i, e in zip(indices, chosen)], pad_id, device)
    return batch
