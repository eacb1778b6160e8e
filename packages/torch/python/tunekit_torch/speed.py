"""The train node's speed options (`args.paddingFree`, `args.chunkedLoss`, `args.torchCompile`):
what each one turns on in the SFT / pretrain loop, resolved once against the model that trains.

None of them changes a loss beyond float rounding (test_speed.py: within 1e-5 of the plain run);
each only changes how much is computed and held:

- padding-free: a micro-batch is one row of its samples end to end (shards.build_batch `flat`),
  attended one sample at a time under SDPA (segment_attention.py);
- chunked loss: the cross-entropy from the last hidden state at the labelled positions only, a
  chunk of tokens at a time (chunked_loss.py), never the whole [tokens × vocab] logits;
- torch.compile: the model that runs forward and backward is `torch.compile`d (inductor).

Unset (None), padding-free and the chunked loss are on where they are known to give the plain
run's losses and cost less: one CPU process (no FSDP shards of the head to gather, no device where
the plain kernels may win), a text model under SDPA, no virtual tokens, a plain lm_head. On CPU the
head and its cross-entropy are most of a step for a 32k vocabulary, and the padding and the
unlabelled positions are up to three quarters of its tokens (bench/vs-trainer.ts). `false` keeps
the plain path; `true` asks for the option everywhere.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import torch

from .chunked_loss import has_liger, unsupported_reason
from .events import WorkerError, info, warn
from .modeling import unwrapped
from .segment_attention import decoder_attention
from .vision import is_vision, model_type


@dataclass(frozen=True)
class Speed:
    padding_free: bool = False
    chunked_loss: bool = False
    compile: bool = False
    segments: bool = False  # padding-free rows attended one sample at a time (segment_attention.py)


def resolve_speed(args, model, device: torch.device, node: str, distributed: bool = False) -> Speed:
    """The options as they apply to `model` (the method already wrapped), unset ones decided here
    (the module's doc): padding-free refuses a prompt-learning method (its virtual tokens are put
    before each row: one flat row would give them to its first sample only); a loss that cannot be
    chunked takes the plain path with a warning. `distributed`: this process is a rank under torchrun."""
    auto = device.type == "cpu" and not distributed
    # prefix tuning counts no virtual positions (its prefix is the attention's past) but leads a row too;
    # recipe checks refuse all three first (promptLearningIssues), this guards a hand-written request
    peft_config = getattr(model, "active_peft_config", None)
    prompt_learning = bool(getattr(peft_config, "is_prompt_learning", False))
    padding_free = args.padding_free
    if padding_free is None:
        padding_free = auto and not prompt_learning and flat_rows_reason(model) is None
    elif padding_free and prompt_learning:
        raise WorkerError("PaddingFreeVirtualTokens", "args.paddingFree lays a micro-batch's samples end to end in one row, "
                          "but the method puts its virtual tokens before each row, so only the first sample would see them",
                          args=[int(peft_config.num_virtual_tokens)])
    chunked = args.chunked_loss
    reason = unsupported_reason(model)
    if chunked is None:
        chunked = auto and reason is None
    elif chunked and reason is not None:
        warn(node, f"args.chunkedLoss: {reason}; computing the loss from the whole logits instead")
        chunked = False
    if chunked:
        info(node, "loss: " + ("Liger's fused linear-cross-entropy" if device.type == "cuda" and has_liger() else "chunked cross-entropy (tunekit)"))
    compile = bool(args.torch_compile)
    if compile and device.type == "cpu" and shutil.which("g++") is None and shutil.which("c++") is None:
        raise WorkerError("TorchCompileUnavailable", "args.torchCompile compiles with inductor, which needs a C++ compiler on CPU, "
                          "and none (g++, c++) is on PATH", args=["no C++ compiler (g++, c++) on PATH"])
    # on CPU: the segments' bounds are read on the host in every layer, a wait for the GPU on CUDA
    segments = bool(padding_free) and device.type == "cpu" and uses_sdpa(model)
    if padding_free:
        info(node, "padding-free rows" + (", attended one sample at a time (SDPA)" if segments else ""))
    return Speed(padding_free=bool(padding_free), chunked_loss=bool(chunked), compile=compile, segments=segments)


def uses_sdpa(model) -> bool:
    return decoder_attention(model) == "sdpa"


def flat_rows_reason(model) -> str | None:
    """Why an unset args.paddingFree stays off for this model, or None: a vision-language model's
    image tokens and positions are per row (Qwen2-VL's M-RoPE), and an attention other than SDPA
    has no segment kernel here (FlashAttention-2 takes flat rows when asked for)."""
    base = unwrapped(model)
    if is_vision(base):
        return f"model_type '{model_type(base)}' places its images per row"
    if not uses_sdpa(model):
        return f"attention '{decoder_attention(base)}' is not SDPA"
    return None


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
