"""The train node's speed options (`args.paddingFree`, `args.chunkedLoss`, `args.torchCompile`):
what each one turns on in the SFT / pretrain loop, resolved once against the model that trains.

None of them changes a loss beyond float rounding (test_speed.py: within 1e-5 of the plain run);
each only changes how much is computed and held:

- padding-free: a micro-batch is one row of its samples end to end (shards.build_batch `flat`);
- chunked loss: the cross-entropy from the last hidden state, a chunk of tokens at a time
  (chunked_loss.py), never the whole [tokens × vocab] logits;
- torch.compile: the model that runs forward and backward is `torch.compile`d (inductor).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import torch

from .chunked_loss import has_liger, unsupported_reason
from .events import WorkerError, info, warn
from .methods import virtual_tokens


@dataclass(frozen=True)
class Speed:
    padding_free: bool = False
    chunked_loss: bool = False
    compile: bool = False


def resolve_speed(args, model, device: torch.device, node: str) -> Speed:
    """The options as they apply to `model` (the method already wrapped): padding-free refuses a
    prompt-learning method (its virtual tokens are put before each row: one flat row would give them
    to its first sample only); a loss that cannot be chunked takes the plain path with a warning."""
    padding_free = bool(args.padding_free)
    if padding_free and virtual_tokens(model):
        raise WorkerError("PaddingFreeVirtualTokens", "args.paddingFree lays a micro-batch's samples end to end in one row, "
                          "but the method puts its virtual tokens before each row, so only the first sample would see them",
                          args=[virtual_tokens(model)])
    chunked = bool(args.chunked_loss)
    if chunked:
        reason = unsupported_reason(model)
        if reason is not None:
            warn(node, f"args.chunkedLoss: {reason}; computing the loss from the whole logits instead")
            chunked = False
        else:
            info(node, "loss: " + ("Liger's fused linear-cross-entropy" if device.type == "cuda" and has_liger() else "chunked cross-entropy (tunekit)"))
    compile = bool(args.torch_compile)
    if compile and device.type == "cpu" and shutil.which("g++") is None and shutil.which("c++") is None:
        raise WorkerError("TorchCompileUnavailable", "args.torchCompile compiles with inductor, which needs a C++ compiler on CPU, "
                          "and none (g++, c++) is on PATH", args=["no C++ compiler (g++, c++) on PATH"])
    return Speed(padding_free=padding_free, chunked_loss=chunked, compile=compile)


def compiled(forward_model, speed: Speed, node: str):
    """The module the loop calls: `torch.compile(forward_model)` with `args.torchCompile` (the
    compilation itself happens at the first forward, and again for new shapes: dynamic after the
    first recompile), else the module itself. The uncompiled model keeps the parameters the
    optimizer, the checkpoints and the artifact read."""
    if not speed.compile:
        return forward_model
    info(node, f"torch.compile (inductor) on torch {torch.__version__}: the first steps include compilation")
    return torch.compile(forward_model)


class compile_errors:
    """Maps a failure of torch.compile's backend (no Triton for the GPU, a C++ compiler that fails)
    to TorchCompileUnavailable; any other exception passes through unchanged."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace) -> bool:
        if error is None:
            return False
        from torch._dynamo.exc import BackendCompilerFailed

        if isinstance(error, BackendCompilerFailed):
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise WorkerError("TorchCompileUnavailable", f"args.torchCompile: torch.compile failed: {first}", args=[first]) from error
        return False
