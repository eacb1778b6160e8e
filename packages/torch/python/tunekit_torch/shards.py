"""Token shards (numpy memmap) and micro-batches built exactly as the batch plan says.

Shard layout (docs/architecture.md): `ids.bin` little-endian int32, `mask.bin` uint8 (1 = the
token is a supervised label), `index.json` with offsets and lengths. The loss at position t
predicts ids[t+1] when mask[t+1] == 1, inside the same segment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .vision import PixelShards, batch_images, open_pixels

IGNORE = -100  # label value PyTorch's cross-entropy skips


@dataclass
class ShardSet:
    ids: np.ndarray  # [total tokens] int32
    mask: np.ndarray  # [total tokens] uint8
    offsets: list[int]
    lengths: list[int]
    pad_id: int
    eos_id: int | None
    bos_id: int | None
    pixels: PixelShards | None = None  # the samples' images (vision.py), None without any


def open_shards(folder: Path) -> ShardSet:
    index = json.loads((folder / "index.json").read_text())
    if index.get("format") not in (None, "tunekit-shards"):
        raise ValueError(f"{folder}/index.json: format {index.get('format')!r} is not 'tunekit-shards'")
    total = sum(index["lengths"])
    ids = np.memmap(folder / "ids.bin", dtype="<i4", mode="r") if total else np.zeros(0, "<i4")
    mask = np.memmap(folder / "mask.bin", dtype="u1", mode="r") if total else np.zeros(0, "u1")
    eos = index.get("eosId")
    pad = index.get("padId")
    return ShardSet(
        ids=ids,
        mask=mask,
        offsets=list(index["offsets"]),
        lengths=list(index["lengths"]),
        pad_id=int(pad if pad is not None else (eos if eos is not None else 0)),
        eos_id=eos,
        bos_id=index.get("bosId"),
        pixels=open_pixels(folder, index),
    )


def trained_tokens(shards: ShardSet, micro_batch: dict) -> int:
    """Labels in a micro-batch: supervised targets at positions 1.. of every segment."""
    n = 0
    for row in micro_batch["rows"]:
        for seg in row:
            start = shards.offsets[seg["sample"]] + seg["start"]
            n += int(shards.mask[start + 1 : start + seg["length"]].sum())
    return n


def build_batch(shards: ShardSet, micro_batch: dict, device: torch.device, flat: bool = False) -> dict:
    """Tensors of one micro-batch, right-padded to `micro_batch.length`.

    Returns input_ids, labels, position_ids [rows, length], label_count (int: labels != IGNORE,
    counted on the host), label_index (the flat positions of those labels, ascending, built on the
    host so the chunked loss gathers them without a GPU wait), token_mask [rows, length] (1 on
    tokens, 0 on padding: the MoE aux loss counts tokens) and attention_mask: 2D [rows, length]
    when every row holds one segment, else 4D [rows, 1, length, length] boolean (True = attend;
    the models run with SDPA, which takes it as is), block-diagonal causal so attention never
    crosses packed segments.

    `flat` (padding-free, transformers' DataCollatorWithFlattening layout): every segment of every
    row is laid end to end in one row [1, real tokens], no padding, position ids restarting at 0 in
    each segment and no attention_mask: transformers tells the samples apart from the position ids
    (FlashAttention-2's varlen kernel; under SDPA and eager `create_causal_mask` builds the
    block-diagonal mask from them). `cu_seq_lens` [segments + 1] (int32) and `max_length` are the
    segments' boundaries for the varlen kernel, computed here rather than from the device position ids.
    """
    rows = micro_batch["rows"]
    length = int(micro_batch["length"])
    if flat:
        rows = [[seg for row in rows for seg in row]]
        length = sum(int(seg["length"]) for seg in rows[0])
    b = len(rows)
    input_ids = np.full((b, length), shards.pad_id, dtype=np.int64)
    labels = np.full((b, length), IGNORE, dtype=np.int64)
    positions = np.zeros((b, length), dtype=np.int64)
    segment = np.zeros((b, length), dtype=np.int64)  # 0 = padding, 1.. = segment number
    packed = False
    for r, row in enumerate(rows):
        packed = packed or len(row) > 1
        col = 0
        for s, seg in enumerate(row):
            n = int(seg["length"])
            start = shards.offsets[seg["sample"]] + int(seg["start"])
            if col + n > length:
                raise ValueError(f"batch plan row {r} is longer than its micro-batch length {length}")
            ids = np.asarray(shards.ids[start : start + n], dtype=np.int64)
            mask = np.asarray(shards.mask[start : start + n])
            input_ids[r, col : col + n] = ids
            # label at t is ids[t+1] when mask[t+1] == 1; the last token of a segment has none
            lab = np.where(mask[1:] == 1, ids[1:], IGNORE)
            labels[r, col : col + n - 1] = lab
            positions[r, col : col + n] = np.arange(n)
            segment[r, col : col + n] = s + 1
            col += n
        # padding continues positions so rotary tables stay in range; it is never a label
        if col < length:
            positions[r, col:] = np.arange(length - col)
    label_index = np.flatnonzero(labels.reshape(-1) != IGNORE)
    vision = images_of(shards, rows, device)
    out = {
        "input_ids": to_device(input_ids, device),
        "labels": to_device(labels, device),
        "position_ids": to_device(positions, device),
        # counted here on the host: counting the device labels would wait for the GPU
        "label_count": int(label_index.size),
        "label_index": to_device(label_index.astype(np.int64), device),
    }
    if vision:
        out["vision"] = vision
    seg = to_device(segment, device)
    out["token_mask"] = (seg > 0).long()  # [rows, length] 1 = a token, 0 = padding (the MoE aux loss counts tokens)
    if flat:
        lengths = [int(seg["length"]) for seg in rows[0]]
        out["attention_mask"] = None
        out["cu_seq_lens"] = to_device(np.cumsum([0] + lengths).astype(np.int32), device)
        out["max_length"] = max(lengths, default=0)
        return out
    if not packed:
        out["attention_mask"] = (seg > 0).long()
    else:
        # [rows, 1, q, k]: attend when same segment and k <= q; a padding query sees only itself
        same = seg[:, :, None] == seg[:, None, :]
        causal = torch.ones(length, length, dtype=torch.bool, device=device).tril()
        allowed = same & causal & (seg[:, None, :] > 0)
        allowed |= torch.eye(length, dtype=torch.bool, device=device)[None]
        out["attention_mask"] = allowed[:, None]
    return out


def images_of(shards: ShardSet, rows: list[list[dict]], device: torch.device) -> dict:
    """The pixel inputs of a micro-batch's samples (vision.py's batch_images), {} without images. A
    sample with images must be whole in its segment: a cut one would hold fewer image tokens than pixels."""
    if shards.pixels is None:
        return {}
    samples = []
    for row in rows:
        for seg in row:
            s = int(seg["sample"])
            if shards.pixels.counts[s] and (int(seg["start"]) != 0 or int(seg["length"]) != shards.lengths[s]):
                raise ValueError(f"sample {s} holds images and is cut in the batch plan (start {seg['start']}, length {seg['length']} of {shards.lengths[s]})")
            samples.append(s)
    return batch_images(shards.pixels, samples, device)


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """Host array -> tensor on `device`; on CUDA through pinned memory, so the copy is queued
    behind the running kernels instead of making the host wait for them."""
    t = torch.from_numpy(array)
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def read_plan(collate_dir: Path) -> dict:
    return json.loads((collate_dir / "plan.json").read_text())


def schedule_steps(plan: dict) -> list[tuple[int, int, list[dict]]]:
    """The optimiser steps of the plan: (epoch, first micro-batch index in that epoch, micro-batches).

    As in transformers' Trainer (and the batch plan's `stepsPerEpoch`): each epoch has
    `stepsPerEpoch` steps of `gradientAccumulationSteps` micro-batches; micro-batches left over at
    the end of an epoch are not used; steps stop at `totalSteps`.
    """
    accum = int(plan["gradientAccumulationSteps"])
    total = int(plan["totalSteps"])
    steps: list[tuple[int, int, list[dict]]] = []
    for epoch, ep in enumerate(plan["epochsPlan"]):
        mbs = ep["microBatches"]
        per_epoch = int(plan["stepsPerEpoch"])
        for k in range(per_epoch):
            chunk = mbs[k * accum : (k + 1) * accum]
            if len(steps) >= total:
                return steps
            if chunk:
                steps.append((epoch, k * accum, chunk))
    return steps
