"""Vision-language models (LLaVA, Qwen2-VL) in the worker: transformers' own classes, the parts
`model.vision` keeps frozen (LLaMA-Factory's `freeze_vision_tower`, `freeze_multi_modal_projector`,
`train_mm_proj_only`; by default the tower), and each micro-batch's images from the pixel shards.

Pixel shards (docs/architecture.md, "Token shards"): `pixels.bin` little-endian float32, every image's
preprocessed pixels back to back in sample order; `index.json`'s `images`: `counts` (images per sample),
`first` (per sample, the index of its first image), `offsets` (per image, float offset in pixels.bin),
`shapes` (per image: [3, H, W] for CLIP, [patches, C·T·P·P] for Qwen2-VL) and `gridThw` (Qwen2-VL).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

# model_type -> the module paths of the vision tower (PEFT's exclude_modules: a full match on a
# module's path; the Qwen2-VL merger, inside `visual`, is the projector), as core's families say
# (towerPattern); the projector's; and what of a trained tower LoRA cannot adapt (towerConflictPattern:
# Qwen2-VL's Conv3d patch_embed.proj, LLaMA-Factory's lora_conflict_keys)
TOWER = {"llava": r".*vision_tower.*", "qwen2_vl": r".*visual\.(blocks|patch_embed).*"}
PROJECTOR = {"llava": r".*multi_modal_projector.*", "qwen2_vl": r".*visual\.merger.*"}
TOWER_CONFLICT = {"qwen2_vl": r".*visual\.patch_embed.*"}


def model_type(model) -> str | None:
    config = getattr(model, "config", None)
    return getattr(config, "model_type", None)


def is_vision(model) -> bool:
    return model_type(model) in TOWER


def tower_pattern(model) -> str | None:
    """PEFT's exclude_modules regex of a vision-language model's tower, None for a text model."""
    return TOWER.get(model_type(model))


def lora_exclude(model, vision) -> str | None:
    """PEFT's exclude_modules of a LoRA: the frozen tower, or (model.vision.freezeTower false) what of
    the tower is no linear; None for a text model (core's loraExcludeModules)."""
    kind = model_type(model)
    if kind not in TOWER:
        return None
    return TOWER_CONFLICT.get(kind) if vision is not None and not vision.freeze_tower else TOWER[kind]


def freeze_parts(model, vision) -> int:
    """Full training of a vision-language model: requires_grad off on the parts `model.vision` keeps
    frozen (the tower by default; the projector with freezeProjector; all but the projector with
    projectorOnly), as LLaMA-Factory's get_forbidden_modules; returns how many tensors."""
    import re

    kind = model_type(model)
    if kind not in TOWER:
        return 0
    freeze_tower = vision is None or vision.freeze_tower
    freeze_projector = vision is not None and vision.freeze_projector
    projector_only = vision is not None and vision.projector_only
    frozen = 0
    for name, p in model.named_parameters():
        module = name.rsplit(".", 1)[0]
        in_projector = re.fullmatch(PROJECTOR[kind], module) is not None
        in_tower = not in_projector and re.fullmatch(TOWER[kind], module) is not None
        keep = (freeze_tower and in_tower) or (freeze_projector and in_projector) or (projector_only and not in_projector)
        if keep:
            p.requires_grad_(False)
            frozen += 1
    return frozen


@dataclass
class PixelShards:
    pixels: np.ndarray  # [total floats] float32
    counts: list[int]
    first: list[int]
    offsets: list[int]
    shapes: list[list[int]]
    grid_thw: list[list[int]] | None


def open_pixels(folder: Path, index: dict) -> PixelShards | None:
    """The shard set's images, or None when its samples hold none."""
    images = index.get("images")
    if not images or not images.get("offsets"):
        return None
    return PixelShards(
        pixels=np.memmap(folder / "pixels.bin", dtype="<f4", mode="r"),
        counts=list(images["counts"]),
        first=list(images["first"]),
        offsets=list(images["offsets"]),
        shapes=[list(s) for s in images["shapes"]],
        grid_thw=[list(g) for g in images["gridThw"]] if images.get("gridThw") else None,
    )


def batch_images(pixels: PixelShards, samples: list[int], device: torch.device) -> dict:
    """`pixel_values` (and Qwen2-VL's `image_grid_thw`) of the samples' images, in the order their image
    tokens come in the batch (rows in order, segments in order): what the models' forward scatters into
    the image token positions. Empty when the samples hold no image."""
    index = [pixels.first[s] + k for s in samples for k in range(pixels.counts[s])]
    if not index:
        return {}
    arrays = []
    for i in index:
        size = int(np.prod(pixels.shapes[i]))
        arrays.append(np.asarray(pixels.pixels[pixels.offsets[i] : pixels.offsets[i] + size]).reshape(pixels.shapes[i]))
    if pixels.grid_thw is None:
        # CLIP: every image is [3, H, W] at the processor's crop size: one [n, 3, H, W] batch
        return {"pixel_values": torch.from_numpy(np.stack(arrays)).to(device)}
    # Qwen2-VL: each image's patch rows, concatenated, and each image's (t, h, w) grid
    return {
        "pixel_values": torch.from_numpy(np.concatenate(arrays, axis=0)).to(device),
        "image_grid_thw": torch.tensor([pixels.grid_thw[i] for i in index], dtype=torch.long, device=device),
    }


def forward_inputs(model, batch: dict) -> dict:
    """The vision inputs of a forward pass: the batch's pixel inputs and, for Qwen2-VL, the
    `mm_token_type_ids` its processor returns beside input_ids (1 on `<|image_pad|>`, 2 on
    `<|video_pad|>`, 0 on text: create_mm_token_type_ids), from which it computes the M-RoPE positions."""
    vision = dict(batch.get("vision") or {})
    if vision and model_type(model) == "qwen2_vl":
        ids, cfg = batch["input_ids"], model.config
        vision["mm_token_type_ids"] = (ids == cfg.image_token_id).int() + 2 * (ids == cfg.video_token_id).int()
    return vision


def mrope_positions(model, batch: dict) -> torch.Tensor:
    """Qwen2-VL's M-RoPE position ids of a batch, [3, rows, length] (temporal, height, width), computed for
    each packed segment as transformers' get_rope_index computes them for a sequence of its own: text
    positions 1-D from the segment's start, each image's tokens on its (t, h, w) grid (the batch's
    image_grid_thw, in the order the images come: rows in order, segments in order). A segment's positions
    restart at 0 as its row positions do (shards.py), so a packed row is its samples' unpacked rows
    side by side; padding keeps its row positions (never attended, never a label). Without an
    attention mask (padding-free rows), the 1-D text positions lead ([4, rows, length]): transformers
    builds the block-diagonal mask from them."""
    ids, text, tokens, cfg = batch["input_ids"], batch["position_ids"], batch["token_mask"], model.config
    kinds = (ids == cfg.image_token_id).int()  # 1 on <|image_pad|>, 0 on text (tunekit's data holds no video)
    grids = (batch.get("vision") or {}).get("image_grid_thw")
    rope_index = model.model.get_rope_index
    out = text[None].repeat(3, 1, 1)
    used = 0
    for r in range(ids.shape[0]):
        real = int(tokens[r].sum())  # segments lie from column 0; padding follows them
        bounds = (text[r, :real] == 0).nonzero().flatten().tolist() + [real]
        for a, b in zip(bounds, bounds[1:]):
            kind = kinds[r, a:b]
            images = int(kind[0]) + int((kind[1:] > kind[:-1]).sum())  # runs of image tokens: one image each
            segment_grids = grids[used : used + images] if images else None
            positions, _ = rope_index(ids[r : r + 1, a:b], kind[None], image_grid_thw=segment_grids)
            out[:, r, a:b] = positions[:, 0]
            used += images
    return out if batch.get("attention_mask") is not None else torch.cat([text[None], out])
