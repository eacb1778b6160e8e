"""What this Python environment can do: versions, CUDA, bf16, bitsandbytes (for `capabilities()`)."""

from __future__ import annotations

import importlib
import importlib.metadata as md
import platform
import sys

PACKAGES = ["torch", "transformers", "peft", "accelerate", "safetensors", "numpy", "pillow", "tokenizers", "bitsandbytes"]


def installed_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def probe() -> dict:
    info: dict = {"python": platform.python_version(), "executable": sys.executable, "versions": installed_versions()}
    try:
        import torch
    except Exception as e:  # torch missing or broken: the driver names the fix
        info.update(cuda=False, error=f"import torch failed: {e}")
        return info
    cuda = bool(torch.cuda.is_available())
    info["cuda"] = cuda
    info["cudaVersion"] = torch.version.cuda
    info["devices"] = []
    if cuda:
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            info["devices"].append({"name": p.name, "memoryBytes": int(p.total_memory), "capability": f"{p.major}.{p.minor}"})
        info["bf16"] = bool(torch.cuda.is_bf16_supported())
    else:
        info["bf16"] = False
    bnb = False
    if info["versions"].get("bitsandbytes") and cuda:
        try:
            importlib.import_module("bitsandbytes")
            bnb = True
        except Exception:
            bnb = False
    info["bitsandbytes"] = bnb
    return info
