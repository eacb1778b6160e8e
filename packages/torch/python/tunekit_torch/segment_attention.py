"""SDPA over the samples of a padding-free row, one sample at a time (`args.paddingFree` without
FlashAttention-2).

A padding-free micro-batch is one row of its samples end to end (shards.build_batch `flat`). Under
plain SDPA transformers builds the block-diagonal causal mask [1, 1, N, N] from the position ids
and SDPA computes every one of its N² scores, the masked ones too: with 8 samples of 200 tokens
that is 8× the scores of the padded batch (8 × 200² per sample). Here each sample's queries
attend to its own keys only, the same scores a padded row computes for its real tokens: the
varlen kernel's work, from the sample boundaries the batch carries (`cu_seq_lens_q`, as for
FlashAttention-2).

Each sample goes through transformers' own `sdpa_attention_forward` (its GQA, scaling and dropout
handling) under its own causal mask (banded where the model has a sliding window).
"""

from __future__ import annotations

import functools

import torch

from .modeling import unwrapped

NAME = "tunekit_segment_sdpa"  # registered in transformers' AttentionInterface by use_segment_attention


def segment_sdpa_forward(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None,
                         sliding_window: int | None = None, cu_seq_lens_q: torch.Tensor | None = None, **kwargs):
    """query [1, heads, N, d], key and value [1, kv heads, N, d] of one padding-free row; returns
    ([1, N, heads, d], None) as sdpa_attention_forward does. `attention_mask` is None: transformers
    builds none for an attention it has no mask function for."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if cu_seq_lens_q is None or query.shape[0] != 1:
        raise RuntimeError(f"{NAME} runs padding-free rows only (one row and its cu_seq_lens), got {query.shape[0]} rows "
                           f"and {'no ' if cu_seq_lens_q is None else ''}sample boundaries")
    bounds = cu_seq_lens_q.tolist()  # a few ints; the device tensor is the varlen kernel's form
    kwargs.pop("cu_seq_lens_k", None)
    kwargs.pop("max_length_q", None)
    kwargs.pop("max_length_k", None)
    outs = []
    for start, end in zip(bounds[:-1], bounds[1:]):
        n = end - start
        if n == 0:
            continue
        q, k, v = query[:, :, start:end], key[:, :, start:end], value[:, :, start:end]
        out, _ = sdpa_attention_forward(module, q, k, v, causal_mask(n, sliding_window, query.device), dropout=dropout, scaling=scaling, **kwargs)
        outs.append(out)
    return torch.cat(outs, dim=1), None


def causal_mask(n: int, sliding_window: int | None, device: torch.device) -> torch.Tensor:
    """causal_mask_of, kept for short samples: every layer asks for the same lengths, and a short
    sample's attention costs little more than building its mask (≤ 64 × 512² bytes held)."""
    return cached_causal_mask(n, sliding_window, device) if n <= 512 else causal_mask_of(n, sliding_window, device)


@functools.lru_cache(maxsize=64)
def cached_causal_mask(n: int, sliding_window: int | None, device: torch.device) -> torch.Tensor:
    return causal_mask_of(n, sliding_window, device)


def causal_mask_of(n: int, sliding_window: int | None, device: torch.device) -> torch.Tensor:
    """[1, 1, n, n] boolean, True = attend: key j is seen from query i when j <= i (and, with a
    window, i - window < j: transformers' sliding_window_overlay). An explicit mask rather than
    `is_causal`: torch's CPU flash kernel under `is_causal` turns a NaN query into a zero output, so
    a non-finite step would pass unseen, where the padded row's masked attention gives NaN; the
    masked kernel costs ≈ 5% more on a 240-token sample."""
    i = torch.arange(n, device=device)
    gap = i[:, None] - i[None, :]
    allowed = gap >= 0
    if sliding_window is not None:
        allowed &= gap < sliding_window
    return allowed[None, None]


def decoder_config(model):
    """The config of `model`'s decoder (a transformers model): its `text_config` where it has one
    (a vision-language model), else its config."""
    return getattr(model.config, "text_config", None) or model.config


def decoder_attention(model) -> str | None:
    """The attention implementation `model`'s decoder runs (through DDP's, torch.compile's and
    PEFT's wrappers)."""
    return getattr(decoder_config(unwrapped(model)), "_attn_implementation", None)


def use_segment_attention(model) -> None:
    """Registers the segment attention and switches `model` (the transformers model under PEFT) to it:
    its decoder only where it has sub-models (a vision-language model's `text_config`): a vision
    tower attends image by image already and keeps SDPA (its rows carry no sample boundaries)."""
    from transformers import AttentionInterface

    AttentionInterface.register(NAME, segment_sdpa_forward)
    model.set_attn_implementation(NAME if decoder_config(model) is model.config else {"text_config": NAME})
