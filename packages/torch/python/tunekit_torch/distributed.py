"""Training in several processes under torchrun: the ranks, the share of each step's micro-batches a
rank computes, DDP or FSDP2 around the model, and the collectives the loop needs.

torchrun (`python -m torch.distributed.run`, started by the TS driver) sets RANK, WORLD_SIZE and
LOCAL_RANK; node.json's `distributed.strategy` says how the model is wrapped. Every rank reads the
whole batch plan and the shards, so each counts the step's labelled tokens on the host and the
loss stays the one-process loss: rank r computes the micro-batches r, r + W, … of each step, scales
its token-loss sum by W / (labels of the whole step) — DDP and FSDP average gradients over the W
ranks, so the gradient is Σ over all the step's micro-batches of token CE / step labels, as in one
process. Rank 0 alone prints events and writes checkpoints and artifacts; checkpoints hold full
(unsharded) tensors, so any number of processes resumes them.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch


@dataclass
class Dist:
    """This process's place: rank among `world`, its GPU index on the machine, the strategy."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    strategy: str | None = None  # None: one process; "ddp" | "fsdp" under torchrun

    @property
    def main(self) -> bool:
        """Rank 0: the one process that prints events and writes files."""
        return self.rank == 0

    @property
    def on(self) -> bool:
        return self.strategy is not None

    def share(self, items: list) -> list[tuple[object, float]]:
        """This rank's items, dealt round-robin, each with its weight: every rank runs the same
        number of passes (collectives under DDP/FSDP need it), so a rank short of items repeats
        the first one with weight 0 (it adds nothing to the loss or the gradients)."""
        if not self.on:
            return [(item, 1.0) for item in items]
        rounds = -(-len(items) // self.world)
        return [(items[i], 1.0) if i < len(items) else (items[0], 0.0) for i in (k * self.world + self.rank for k in range(rounds))]

    @property
    def grad_scale(self) -> float:
        """What a rank's loss is multiplied by so that the ranks' averaged gradients are their sum."""
        return float(self.world) if self.on else 1.0

    def all_sum(self, values: torch.Tensor) -> torch.Tensor:
        """The element-wise sum over ranks (in place); the tensor itself in one process."""
        if self.on:
            torch.distributed.all_reduce(values, op=torch.distributed.ReduceOp.SUM)
        return values

    def barrier(self) -> None:
        if self.on:
            torch.distributed.barrier()


def start(strategy: str | None, device: torch.device) -> tuple[Dist, torch.device]:
    """Joins torchrun's process group (gloo on CPU, NCCL on CUDA) and returns this rank's place and
    device (`cuda:<LOCAL_RANK>` on CUDA); without a strategy, one process on `device`."""
    if strategy is None:
        return Dist(), device
    rank, world, local = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
    from . import events

    events.set_rank(rank)
    return Dist(rank=rank, world=world, local_rank=local, strategy=strategy), device


def stop(d: Dist) -> None:
    if d.on and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def wrap(model, d: Dist, device: torch.device):
    """The module the loop runs forward and backward through. DDP: a DistributedDataParallel around
    `model` (which keeps its own parameters); FSDP: every decoder layer (transformers'
    `_no_split_modules`) and then the transformers model are `fully_shard`ed in place, so `model`
    itself runs sharded. One process: `model`."""
    if d.strategy == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        # buffers (rotary tables) are the same on every rank; LoRA leaves no trainable tensor unused
        return DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)
    if d.strategy == "fsdp":
        from torch.distributed.fsdp import fully_shard

        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        units = set(getattr(inner, "_no_split_modules", None) or [])
        for module in inner.modules():
            if type(module).__name__ in units:
                fully_shard(module)
        fully_shard(inner)
    return model


def no_sync(forward_model, d: Dist, last: bool):
    """DDP: skip the gradient all-reduce of every micro-batch but a rank's last of the step (the
    gradients accumulate locally and are summed once)."""
    if d.strategy == "ddp" and not last:
        return forward_model.no_sync()
    return contextlib.nullcontext()


def _fsdp_modules(model) -> list:
    from torch.distributed.fsdp import FSDPModule

    return [m for m in model.modules() if isinstance(m, FSDPModule)]


def resharded(model, d: Dist) -> None:
    """FSDP: every unit's parameters back to their shards, the tensors the optimizer holds (the root
    unit keeps its parameters gathered after a forward, FSDP2's default), so its state is found by them."""
    if d.strategy == "fsdp":
        for unit in _fsdp_modules(model):
            unit.reshard()


@contextlib.contextmanager
def full_params(model, d: Dist):
    """Inside, the model's parameters are whole tensors on every rank (FSDP: all-gathered, then
    sharded again after), so PEFT's and transformers' savers read them as in one process: its
    named_parameters() are the gathered tensors, and so is its state_dict() (FSDP2's state-dict hooks
    would hand back the shards, so the top module's answers the gathered tensors under their names)."""
    units = _fsdp_modules(model) if d.strategy == "fsdp" else []
    if not units:
        yield
        return
    for unit in units:
        unit.unshard()
    # the trained tensors copied out of the all-gather buffer (views into it at an offset, which
    # safetensors refuses); frozen ones stay views, no saver writes them
    whole = {name: p.detach().clone() if p.requires_grad else p.detach() for name, p in model.named_parameters(remove_duplicate=False)}
    state = {name: whole.get(name, value) for name, value in model.state_dict().items()}
    model.state_dict = lambda *args, **kwargs: dict(state)  # the savers call it with no arguments
    try:
        yield
    finally:
        del model.state_dict
        for unit in units:
            unit.reshard()


def full_tensor(t: torch.Tensor) -> torch.Tensor:
    """A sharded DTensor gathered whole (a collective: every rank calls it, in the same order); a
    plain tensor as it is."""
    from torch.distributed.tensor import DTensor

    return t.full_tensor() if isinstance(t, DTensor) else t


def like_param(t: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    """A whole tensor laid out as `param` is: this rank's shard of it under FSDP, else on its device."""
    from torch.distributed.tensor import DTensor, distribute_tensor

    if isinstance(param, DTensor):
        return distribute_tensor(t.to(param.device_mesh.device_type), param.device_mesh, param.placements)
    return t.to(param.device)
