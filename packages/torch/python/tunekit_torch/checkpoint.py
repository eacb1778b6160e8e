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
    """First/second moments per trainable tensor; bitsandbytes' 32-bit states map the same way."""
    out: dict[str, torch.Tensor] = {}
    for key, p in keyed.items():
        state = optimizer.state.get(p, {})
        m = state.get("exp_avg", state.get("state1"))
        v = state.get("exp_avg_sq", state.get("state2"))
        if m is not None and m.dtype == torch.float32 and m.shape == p.shape:
            out[f"{key}.exp_avg"] = m.detach().to("cpu").contiguous()
        if v is not None and v.dtype == torch.float32 and v.shape == p.shape:
            out[f"{key}.exp_avg_sq"] = v.detach().to("cpu").contiguous()
    return out


def save_checkpoint(work_dir: Path, model, optimizer, state: dict, keep: int, method) -> Path:
    from safetensors.torch import save_file

    step = int(state["step"])
    final = work_dir / f"checkpoint-{step}"
    tmp = work_dir / f".checkpoint-{step}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    method.save(model, tmp)
    moments = optimizer_moments(optimizer, method.keyed_params(model))
    save_file(moments, str(tmp / "optimizer.safetensors"), metadata={"format": "pt"})
    (tmp / "trainer_state.json").write_text(json.dumps(state, indent=2))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for _, old in list_checkpoints(work_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(folder: Path, model, optimizer, node: str, method) -> dict:
    """Loads the trained tensors and optimizer moments; returns the trainer state."""
    from safetensors.torch import load_file

    state = json.loads((folder / "trainer_state.json").read_text())
    method.load(model, folder, node)
    opt_file = folder / "optimizer.safetensors"
    if opt_file.exists() and isinstance(optimizer, torch.optim.Optimizer):
        moments = load_file(str(opt_file))
        step = float(state["step"])
        for key, p in method.keyed_params(model).items():
            m, v = moments.get(f"{key}.exp_avg"), moments.get(f"{key}.exp_avg_sq")
            if m is None or v is None:
                continue
            if type(optimizer).__name__ in ("AdamW", "Adam"):
                optimizer.state[p] = {
                    "step": torch.tensor(step, dtype=torch.float32),
                    "exp_avg": m.to(p.device, torch.float32),
                    "exp_avg_sq": v.to(p.device, torch.float32),
                }
    return state
