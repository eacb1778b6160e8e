"""Cross-entropy over the vocabulary from the last hidden state, a chunk of tokens at a time, so the
[tokens × vocab] logits are never held whole (`args.chunkedLoss`).

The plain path keeps logits [rows, length, vocab] for the backward pass, plus their float32 copy:
with Mistral's 32 000-token vocabulary, 16 × 2048 tokens are 4.2 GB of float32 logits, more than
the LoRA adapter and its optimizer states. Here the model runs without its lm_head
(`logits_to_keep` keeps no position) and the loss is computed only at the labelled positions:

    loss = Σ_t [logsumexp(z_t) − z_t[y_t]],  z_t = cap · tanh((W h_t + b) / cap)  (cap: Gemma-2's
    final_logit_softcapping; z_t = W h_t + b without it)

Liger's fused linear-cross-entropy kernel (Triton, CUDA) computes it when `liger-kernel` is
importable (not in the pinned environment: that path has not run in tunekit's tests); otherwise
`ChunkedLinearCrossEntropy` below does, in chunks of `CHUNK_TOKENS` tokens.
Like Liger's, it computes the gradients in the forward pass (one chunk's logits alive at a time),
∂loss/∂z_t = softmax(z_t) − onehot(y_t), so the backward pass only scales them by the incoming
gradient and never recomputes a chunk.
"""

from __future__ import annotations

import importlib.util

import torch

from .modeling import unwrapped
from .shards import IGNORE

CHUNK_TOKENS = 1024  # [1024, 32000] float32 logits + their gradient: 262 MB at a time
# model types whose logits are lm_head(hidden), with Gemma-2/3's final softcapping applied below;
# others (e.g. a logit_scale after the head) take the plain path, with a warning
PLAIN_HEAD_TYPES = {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "phi3", "gemma", "gemma2", "gemma3_text"}


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    """Σ over tokens of cross-entropy(W h + b, y), chunk by chunk; labels are never IGNORE here.
    `grads`: whether autograd was on at the call (inside forward it is always off), so that an eval
    pass computes no gradient."""

    @staticmethod
    def forward(ctx, hidden, weight, bias, labels, softcap, chunk, grads=True):
        # hidden [tokens, d], weight [vocab, d], bias [vocab] or None, labels [tokens]
        want_h, want_w, want_b = (grads and need for need in ctx.needs_input_grad[:3])
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grad_h = torch.empty_like(hidden) if want_h else None
        grad_w = torch.empty(weight.shape, dtype=torch.float32, device=weight.device) if want_w else None
        grad_b = torch.zeros(weight.shape[0], dtype=torch.float32, device=weight.device) if want_b else None
        w = weight.to(hidden.dtype)
        for s in range(0, hidden.shape[0], chunk):
            h, y = hidden[s : s + chunk], labels[s : s + chunk]
            # [chunk, vocab], the model's compute dtype, as its lm_head computes it
            raw = torch.mm(h, w.T, out=logits_buffer(h.shape[0], w.shape[0], h.dtype, h.device))
            if bias is not None:
                raw = raw + bias.to(raw.dtype)
            z = raw.float()
            if softcap is not None:
                t = torch.tanh(z / softcap)
                z = softcap * t
            # logsumexp with one exp over the chunk, kept as the softmax's numerator: z is this chunk's
            # own buffer (the product's output or a new tensor), overwritten in place
            picked = z.gather(1, y[:, None])[:, 0]
            top = z.amax(dim=-1, keepdim=True)
            e = z.sub_(top).exp_()
            norm = e.sum(dim=-1, keepdim=True)
            total += (top[:, 0] + norm[:, 0].log() - picked).sum()
            if not (want_h or want_w or want_b):
                continue
            g = e.div_(norm)  # softmax
            g[torch.arange(y.shape[0], device=y.device), y] -= 1
            if softcap is not None:
                g *= 1 - t * t  # d(cap · tanh(x / cap))/dx
            if want_h:
                grad_h[s : s + chunk] = (g.to(w.dtype) @ w).to(hidden.dtype)
            if want_w:
                if s == 0:
                    torch.mm(g.T, h.float(), out=grad_w)
                else:
                    grad_w.addmm_(g.T, h.float())
            if want_b:
                grad_b += g.sum(0)
        ctx.save_for_backward(*(x for x in (grad_h, grad_w, grad_b) if x is not None))
        ctx.which = (want_h, want_w, want_b)
        ctx.dtypes = (weight.dtype, bias.dtype if bias is not None else None)
        return total

    @staticmethod
    def backward(ctx, grad_total):
        saved = iter(ctx.saved_tensors)
        want_h, want_w, want_b = ctx.which
        grad_h = grad_w = grad_b = None
        # in place: the saved gradients are this call's own buffers, read once (a new [vocab × d]
        # tensor would cost its page faults again)
        if want_h:
            g = next(saved)
            grad_h = g.mul_(grad_total.to(g.dtype))
        if want_w:
            grad_w = next(saved).mul_(grad_total).to(ctx.dtypes[0])
        if want_b:
            grad_b = next(saved).mul_(grad_total).to(ctx.dtypes[1])
        return grad_h, grad_w, grad_b, None, None, None, None


# One chunk's logits buffer, kept between the calls of a training loop on CPU (release_scratch ends
# it): a new [1024 × 32 000] float32 tensor is 131 MB of fresh pages, whose faults cost as much as
# a third of the head's product (≈ 70 ms per 200 MB on the bench machine). CUDA's caching
# allocator already reuses its blocks.
_scratch: dict[tuple, torch.Tensor] = {}


def logits_buffer(rows: int, vocab: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor | None:
    """A [rows, vocab] tensor to write a chunk's logits into (None: a new one, on CUDA)."""
    if device.type != "cpu":
        return None
    key = (dtype, vocab)
    buf = _scratch.get(key)
    if buf is None or buf.shape[0] < rows:
        _scratch.clear()
        buf = _scratch[key] = torch.empty(rows, vocab, dtype=dtype, device=device)
    return buf[:rows]


def release_scratch() -> None:
    """Frees the kept logits buffer (the end of a training loop: the worker may serve other nodes)."""
    _scratch.clear()


def output_head(model) -> torch.nn.Linear | None:
    """The Linear that turns the last hidden state into logits, under PEFT's wrappers (a saved
    module's trained copy); None when it is LoRA-adapted or not a Linear (the plain path then)."""
    head = unwrapped(model).get_output_embeddings()
    if hasattr(head, "modules_to_save") and hasattr(head, "active_adapter"):
        active = head.active_adapter
        head = head.modules_to_save[active[0] if isinstance(active, (list, tuple)) else active]
    return head if type(head) is torch.nn.Linear else None


def unsupported_reason(model) -> str | None:
    """Why this model's loss cannot be chunked (then the plain path runs), or None."""
    model_type = getattr(unwrapped(model).config, "model_type", "?")
    if model_type not in PLAIN_HEAD_TYPES:
        return f"model_type '{model_type}' may transform its logits after lm_head"
    if output_head(model) is None:
        return "its lm_head is adapted (not a plain Linear)"
    return None


def has_liger() -> bool:
    return importlib.util.find_spec("liger_kernel") is not None


def head_loss_sum(model, hidden: torch.Tensor, labels: torch.Tensor, label_index: torch.Tensor) -> torch.Tensor:
    """Σ of token cross-entropies at the labelled positions. `hidden` [rows, length, d] (the final
    norm's output), `labels` [rows, length], `label_index` the flat positions of the labels (host-built:
    gathering by a device mask would wait for the GPU). Float32 scalar."""
    head = output_head(model)
    softcap = getattr(unwrapped(model).config, "final_logit_softcapping", None)
    h = hidden.reshape(-1, hidden.shape[-1]).index_select(0, label_index)  # [labels, d]
    y = labels.reshape(-1).index_select(0, label_index)
    if h.is_cuda and has_liger():
        from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

        # one dtype for the kernel: QLoRA's prepare_model_for_kbit_training leaves the lm_head in float32
        loss = LigerFusedLinearCrossEntropyLoss(ignore_index=IGNORE, reduction="sum", softcap=softcap)
        bias = None if head.bias is None else head.bias.to(h.dtype)
        return loss(head.weight.to(h.dtype), h, y, bias).float()
    return ChunkedLinearCrossEntropy.apply(h, head.weight, head.bias, y, softcap, CHUNK_TOKENS, torch.is_grad_enabled())
