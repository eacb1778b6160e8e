"""KTO's part of the preference train node (train_dpo.py runs the loop): the examples in
kto-examples.json's order, each micro-batch's KL estimate from the policy's log-probabilities of its
KL rows (without gradient, as KTOTrainer's `torch.no_grad()`) against the reference's, and the loss
of kto_loss.py. Metrics are KTOTrainer's: kl, and rewards/logps of each side over that side's examples.
"""

from __future__ import annotations

import json

import torch

from .events import WorkerError
from .kto_examples import kto_batch, read_kto_examples
from .kto_loss import kl_estimate, kto_loss, kto_step_metrics
from .preference import PreferenceData, sequence_logps
from .spec import NodeSpec


def kto_objective(spec: NodeSpec, objective, model, device, autocast) -> PreferenceData:
    if spec.kto_examples is None:
        raise WorkerError("WorkerFailed", f"node {spec.node!r} trains kto examples but node.json names no ktoExamples")
    examples, kl_of, pad_id = read_kto_examples(spec.require_input("tokenize"), spec.kto_examples)
    ref = json.loads((spec.require_input("ref-logprobs") / "ref-logprobs.json").read_text())
    ref_logps = torch.tensor(ref["completions"], dtype=torch.float32, device=device)
    ref_kl = torch.tensor(ref["kl"], dtype=torch.float32, device=device)

    def micro(mb: list[int]):
        batch = kto_batch(examples, mb, kl_of, pad_id, device)
        index = torch.tensor(mb, device=device)
        tokens = int(batch["attention_mask"].sum())
        kl = torch.zeros((), device=device)
        if "kl" in batch:
            with torch.no_grad():
                kl = kl_estimate(sequence_logps(model, batch["kl"], autocast).answer, ref_kl[index])
            tokens += int(batch["kl"]["attention_mask"].sum())
        losses, metrics = kto_loss(objective, sequence_logps(model, batch, autocast).answer, ref_logps[index], batch["desirable"], kl)
        return losses, metrics, tokens

    return PreferenceData(len(examples), "examples", micro, lambda sums, _n: kto_step_metrics(sums))
