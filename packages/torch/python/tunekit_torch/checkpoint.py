"""Checkpoints in the shared layout (docs/architecture.md), so either backend resumes the other's.

`<workDir>/checkpoint-<step>/`: the method's artifact files (methods.py; a PEFT adapter for LoRA),
optimizer.safetensors (`<tensor key>.exp_avg` / `.exp_avg_sq`), trainer_state.json
`{ step, epoch, microBatch, rng, recipeKey, lossHistory, backend }`. Written to a temp folder,
then renamed; the last `keep` are kept.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import torch


_NAME = re.compile(r"^checkpoint-(\d+)$")


def list_checkpoints(work_dir: Path) -> list[tuple[int, Path]]:
    if not work_dir.exists():
        return []
    found = []
    for d in work_dir.iterdir():
        m = _NAME.match(d.name)
        if m and (d / "trainer_state.json").exists():
            found.append((int(m.group(1)), d))
    return sorted(found)


def optimizer_moments(optimizer, keyed: dict[str, torch.nn.Parameter]) -> dict[str, torch.Tensor]:
    """First/second moments per trainable tensor, whole (FSDP's shards gathered: a collective, so
    every rank calls it); bitsandbytes' 32-bit states map the same way."""
    from .distributed import full_tensor

    out: dict[str, torch.Tensor] = {}
    for key, p in keyed.items():
        state = optimizer.state.get(p, {})
        m = state.get("exp_avg", state.get("state1"))
        v = state.get("exp_avg_sq", state.get("state2"))
        if m is not None and m.dtype == torch.float32 and m.shape == p.shape:
            out[f"{key}.exp_avg"] = full_tensor(m).detach().to("cpu").contiguous()
        if v is not None and v.dtype == torch.float32 and v.shape == p.shape:
            out[f"{key}.exp_avg_sq"] = full_tensor(v).detach().to("cpu").contiguous()
    return out


def save_checkpoint(work_dir: Path, model, optimizer, state: dict, keep: int, method, dist=None, extra=None) -> Path:
    """Writes checkpoint-<step>. Under torchrun (`dist`) every rank calls it (FSDP gathers the
    tensors whole) and rank 0 alone writes, so the checkpoint holds nothing rank-specific.
    `extra(folder)` writes a stage's own files (ppo's value head and rollout) into the temp folder
    before it is renamed into place."""
    from safetensors.torch import save_file

    from .distributed import Dist, full_params, resharded

    dist = dist or Dist()
    step = int(state["step"])
    final = work_dir / f"checkpoint-{step}"
    tmp = work_dir / f".checkpoint-{step}.tmp-{os.getpid()}"
    resharded(model, dist)
    moments = optimizer_moments(optimizer, method.keyed_params(model))
    with full_params(model, dist):
        if dist.main:
            shutil.rmtree(tmp, ignore_errors=True)
            method.save(model, tmp)
    if dist.main:
        save_file(moments, str(tmp / "optimizer.safetensors"), metadata={"format": "pt"})
        (tmp / "trainer_state.json").write_text(json.dumps(state, indent=2))
        if extra is not None:
            extra(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for _, old in list_checkpoints(work_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier()  # no rank reads or prunes checkpoints while rank 0 still writes
    return final


def load_checkpoint(folder: Path, model, optimizer, node: str, method) -> dict:
    """Loads the trained tensors and optimizer moments; returns the trainer state."""
    state = load_trained(folder, model, node, method)
    load_moments(folder, optimizer, method.keyed_params(model), float(state["step"]))
    return state


def load_trained(folder: Path, model, node: str, method) -> dict:
    """The trained tensors into the (unsharded) model; returns the trainer state."""
    state = json.loads((folder / "trainer_state.json").read_text())
    method.load(model, folder, node)
    return state


def load_moments(folder: Path, optimizer, keyed: dict[str, torch.nn.Parameter], step: float) -> None:
    """AdamW's moments from optimizer.safetensors, laid out as each parameter is (this rank's shard
    of the whole tensor under FSDP); the AdamW step count is the checkpoint's step."""
    from safetensors.torch import load_file

    from .distributed import like_param

    opt_file = folder / "optimizer.safetensors"
    if not opt_file.exists() or not isinstance(optimizer, torch.optim.Optimizer):
        return
    if type(optimizer).__name__ not in ("AdamW", "Adam"):
        return
    moments = load_file(str(opt_file))
    for key, p in keyed.items():
        m, v = moments.get(f"{key}.exp_avg"), moments.get(f"{key}.exp_avg_sq")
        if m is None or v is None:
            continue
        optimizer.state[p] = {
            "step": torch.tensor(step, dtype=torch.float32),
            "exp_avg": like_param(m.to(torch.float32), p),
            "exp_avg_sq": like_param(v.to(torch.float32), p),
        }
