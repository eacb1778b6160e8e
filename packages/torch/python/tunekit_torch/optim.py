"""The recipe's optimizer and learning-rate schedule.

Paged / 8-bit optimizers are bitsandbytes' when it is installed and CUDA is present; otherwise they
map explicitly to torch's AdamW (32-bit states, same update rule) with a warning event.
"""

from __future__ import annotations

import math

import torch

from .events import warn
from .modeling import has_bitsandbytes
from .params import TrainParamsArgs

_BNB = {"paged_adamw_32bit": "PagedAdamW32bit", "paged_adamw_8bit": "PagedAdamW8bit", "adamw_8bit": "AdamW8bit"}


def param_groups(model, weight_decay: float) -> list[dict]:
    """Decay every trainable tensor except biases and norm weights (transformers' Trainer rule)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if name.endswith(".bias") or "norm" in name.lower() else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def make_optimizer(model, args: TrainParamsArgs, device: torch.device, node: str):
    name, lr = args.optimizer, args.learning_rate
    groups = param_groups(model, args.weight_decay)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr), "torch.optim.SGD"
    betas = (args.adam_beta1, args.adam_beta2)
    eps = args.adam_epsilon
    if name in _BNB:
        if has_bitsandbytes() and device.type == "cuda":
            import bitsandbytes as bnb

            cls = getattr(bnb.optim, _BNB[name])
            return cls(groups, lr=lr, betas=betas, eps=eps), f"bitsandbytes.optim.{_BNB[name]}"
        why = "no CUDA device" if device.type != "cuda" else "bitsandbytes is not installed"
        warn(node, f"args.optimizer '{name}' needs bitsandbytes on CUDA ({why}); using torch.optim.AdamW (32-bit states, same update)")
    # CPU: foreach=False, the per-tensor loop gives the same float32 rounding as a plain
    # implementation (the tfjs parity runs there). CUDA: foreach, as transformers' adamw_torch; the
    # per-tensor loop launches ~5 kernels per LoRA tensor (2 × 7 × 32 tensors on a 7B model).
    foreach = device.type == "cuda"
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, foreach=foreach), "torch.optim.AdamW"


def warmup_steps(args: TrainParamsArgs, total: int) -> int:
    return args.warmup_steps if args.warmup_steps > 0 else math.ceil(args.warmup_ratio * total)


def lr_factor(args: TrainParamsArgs, total: int):
    """lr(step) / learningRate for 0-based optimiser step `step`: transformers' get_scheduler curves."""
    from transformers import get_scheduler

    kind = args.lr_scheduler
    dummy = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = get_scheduler(kind, dummy, num_warmup_steps=warmup_steps(args, total), num_training_steps=total)
    return sched.lr_lambdas[0]
