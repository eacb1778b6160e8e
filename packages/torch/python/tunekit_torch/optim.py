"""The recipe's optimizer and learning-rate schedule.

Paged / 8-bit optimizers are bitsandbytes' when it is installed and CUDA is present; otherwise they
map explicitly to torch's AdamW (32-bit states, same update rule) with a warning event.
"""

from __future__ import annotations

import math

import torch

from .events import WorkerError, warn
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


def make_optimizer(model, args: TrainParamsArgs, device: torch.device, node: str, loraplus_lr_ratio: float | None = None):
    """The optimizer over the trainable tensors; with `loraplus_lr_ratio` (LoRA+) its groups are PEFT's
    create_loraplus_optimizer's. Each group carries `lr_scale`, its rate over the scheduled one (set_lr)."""
    name, lr = args.optimizer, args.learning_rate
    betas = (args.adam_beta1, args.adam_beta2)
    eps = args.adam_epsilon
    # CPU: fused, one pass over each tensor and its two moments where the per-tensor loop makes ~10
    # (a [32000 × 256] head and its embedding: 5× less CPU time per step, bench/README.md); the
    # update is the same formula, within float32 rounding of the loop's (the tfjs parity tests hold
    # it to 1e-4 of tfjs's losses). CUDA: foreach, as transformers' adamw_torch; the per-tensor loop
    # launches ~5 kernels per LoRA tensor (2 × 7 × 32 tensors on a 7B model).
    adamw_kernel = {"fused": True} if device.type == "cpu" else {"foreach": device.type == "cuda"}
    if name == "galore_adamw":
        return galore_optimizer(model, args, node)
    if name == "sgd":
        cls, kwargs, label = torch.optim.SGD, {}, "torch.optim.SGD"
    elif name in _BNB and has_bitsandbytes() and device.type == "cuda":
        import bitsandbytes as bnb

        cls, kwargs, label = getattr(bnb.optim, _BNB[name]), {"betas": betas, "eps": eps}, f"bitsandbytes.optim.{_BNB[name]}"
    else:
        if name in _BNB:
            why = "no CUDA device" if device.type != "cuda" else "bitsandbytes is not installed"
            warn(node, f"args.optimizer '{name}' needs bitsandbytes on CUDA ({why}); using torch.optim.AdamW (32-bit states, same update)")
        cls, kwargs, label = torch.optim.AdamW, {"betas": betas, "eps": eps, **adamw_kernel}, f"torch.optim.AdamW ({next(iter(adamw_kernel))})"
    if loraplus_lr_ratio is not None:
        from peft.optimizers import create_loraplus_optimizer

        optimizer = create_loraplus_optimizer(model, cls, lr=lr, loraplus_lr_ratio=loraplus_lr_ratio, loraplus_weight_decay=args.weight_decay, **kwargs)
        label = f"{label} (LoRA+ groups, B at {loraplus_lr_ratio:g}× the rate: peft.optimizers.create_loraplus_optimizer)"
    else:
        optimizer = cls(param_groups(model, args.weight_decay), lr=lr, **kwargs)
    for group in optimizer.param_groups:
        group["lr_scale"] = group["lr"] / lr if lr > 0 else 1.0
    return optimizer, label


def galore_optimizer(model, args: TrainParamsArgs, node: str):
    """transformers' own GaLore optimizer (Trainer.get_optimizer_cls_and_kwargs with optim="galore_adamw",
    optim_target_modules and optim_args): galore_torch's GaLoreAdamW over two groups, the targeted
    linear weights with rank / update_proj_gap / scale / proj_type, and every other tensor. As in
    transformers, those groups carry no weight decay (GaLoreAdamW's default, 0)."""
    from transformers import Trainer, TrainingArguments
    from transformers.utils import is_galore_torch_available

    if not is_galore_torch_available():
        raise WorkerError("GaloreUnavailable", "import galore_torch failed")
    g = args.galore  # the train node fills it with galore_adamw (withGaloreDefaults)
    target, rank, gap, scale, proj = g.optim_target_modules, g.rank, g.update_proj_gap, g.scale, g.proj_type
    targs = TrainingArguments(output_dir="unused", optim="galore_adamw", optim_target_modules=target if isinstance(target, str) else list(target),
                              optim_args=f"rank={rank}, update_proj_gap={gap}, scale={scale}, proj_type={proj}", learning_rate=args.learning_rate,
                              report_to=[], use_cpu=True)
    cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(targs, model)
    # frozen tensors out of the groups (transformers leaves them in; they get no gradient either way)
    kwargs["params"] = [{**group, "params": [p for p in group["params"] if p.requires_grad]} for group in kwargs["params"]]
    kwargs["params"] = [group for group in kwargs["params"] if group["params"]]
    optimizer = cls(**kwargs)
    for group in optimizer.param_groups:
        group["lr_scale"] = 1.0
    targeted = sum(p.numel() for group in optimizer.param_groups if "rank" in group for p in group["params"])
    label = f"galore_torch.{cls.__name__} (transformers' optim='galore_adamw': rank {rank}, update_proj_gap {gap}, scale {scale}, proj_type {proj}; {targeted:,} values projected)"
    return optimizer, label


def loraplus_ratio(method) -> float | None:
    """LoRA+'s ratio of a train node's method (`lora.loraplusLrRatio`), None for other methods."""
    return method.loraplus_lr_ratio if method.kind == "lora" else None


def set_lr(optimizer, lr: float) -> None:
    """The scheduled rate of this step, times each group's own scale (LoRA+'s B group)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group["lr_scale"]


def warmup_steps(args: TrainParamsArgs, total: int) -> int:
    return args.warmup_steps if args.warmup_steps > 0 else math.ceil(args.warmup_ratio * total)


def lr_factor(args: TrainParamsArgs, total: int):
    """lr(step) / learningRate for 0-based optimiser step `step`: transformers' get_scheduler curves."""
    from transformers import get_scheduler

    kind = args.lr_scheduler
    dummy = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = get_scheduler(kind, dummy, num_warmup_steps=warmup_steps(args, total), num_training_steps=total)
    return sched.lr_lambdas[0]
