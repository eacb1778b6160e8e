"""Mixtral's router load-balancing loss in training, as transformers adds it with
`output_router_logits=True` (MixtralForCausalLM: `loss += router_aux_loss_coef * aux_loss`).

The worker's loss is a sum over labelled tokens, divided by the step's labels: the aux term enters
it as `coef * aux * labels`, so a step's loss is the mean cross-entropy plus coef times the aux
loss weighted by each micro-batch's labels (exactly transformers' per-forward sum for one
micro-batch a step). tfjs adds the same term (packages/tfjs/src/model/moe.ts).
"""

from __future__ import annotations

import torch


def model_config(model):
    """The transformers config of a model, a PeftModel or a DDP / FSDP wrapper (`.module`)."""
    return model.config if hasattr(model, "config") else model.module.config


def router_aux_coef(model) -> float:
    """The config's router_aux_loss_coef for a mixture of experts (0: none, or a dense model)."""
    config = model_config(model)
    return float(getattr(config, "router_aux_loss_coef", 0.0) or 0.0) if getattr(config, "num_local_experts", None) else 0.0


def router_aux_term(model, out, token_mask: torch.Tensor, labels: int) -> torch.Tensor:
    """`coef * load_balancing_loss_func(router logits, over the real tokens) * labels` of one forward."""
    from transformers.models.mixtral.modeling_mixtral import load_balancing_loss_func

    config = model_config(model)
    aux = load_balancing_loss_func(out.router_logits, config.num_local_experts, config.num_experts_per_tok, token_mask)
    return router_aux_coef(model) * aux * labels
