"""TRL's KTOTrainer as the oracle for tunekit's kto stage (test/trl/kto.test.ts), in .venv-trl.

Reads one request (JSON on stdin), prints `result <JSON>`:
  request: {model, tokenizer, adapter, out, seed, steps, learningRate,
            cases: [{data, batchSize, lossType, beta, desirableWeight, undesirableWeight}]}
    data: {pairs: [{prompt, chosen, rejected}]} or {unpaired: [{prompt, completion, label}]}: token ids,
          exactly the ones tunekit trains on (its pairs/ or unpaired/ shards)
    adapter: the initial LoRA adapter (PEFT layout, B non-zero), which every case starts from
  result: {cases: [{examples: [{completion, kl, label}], ref: {completions, kl}, loss: [per step],
            metrics: {name: [per step, null where TRL logged none]}}]}

TRL's own dataset preparation runs (KTOTrainer._prepare_dataset: unpairing a paired dataset,
the KL completions rotated within batches of per_device_train_batch_size, the weight advice); only
its tokenizer is replaced by the identity on token ids (`_tokenize`, with every example taken as
conversational so no eos is appended to text), so that it prepares the ids tunekit tokenized.
precompute_ref_log_probs (the "ref" copy of the initial adapter), its sequential sampler, dropout off,
AdamW from torch, constant learning rate; loss and metrics are read where KTOTrainer computes them.
"""

import json
import sys

import torch
import trl.trainer.kto_trainer as kto_module
from datasets import Dataset
from peft import PeftModel
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
from trl import KTOConfig, KTOTrainer

METRICS = ["kl", "rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen", "logps/rejected"]

# the records are token ids already: tokenizing is the identity, and they count as conversational (no eos added)
kto_module._tokenize = lambda processing_class, ids, **kwargs: {"input_ids": list(ids)}
kto_module.is_conversational = lambda example: True


class Recorded(KTOTrainer):
    """KTOTrainer that keeps each step's loss and the metrics it appended (Trainer's logs round the loss)."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        # .get: indexing the defaultdict would add an empty list, which KTOTrainer.log divides by
        before = {m: len(self._metrics["train"].get(m, [])) for m in METRICS}
        loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if model.training:
            logged = {m: self._metrics["train"][m][-1] if len(self._metrics["train"].get(m, [])) > before[m] else None for m in METRICS}
            self.recorded.append({"loss": float(loss.detach()), **logged})
        return loss


def run_case(req: dict, tokenizer, case: dict) -> dict:
    base = AutoModelForCausalLM.from_pretrained(req["model"], dtype=torch.float32)
    model = PeftModel.from_pretrained(base, req["adapter"], is_trainable=True)
    data = case["data"]
    dataset = Dataset.from_list(data["pairs"] if "pairs" in data else data["unpaired"])
    args = KTOConfig(
        output_dir=req["out"], beta=case["beta"], desirable_weight=case["desirableWeight"], undesirable_weight=case["undesirableWeight"],
        loss_type=case["lossType"], precompute_ref_log_probs=True, per_device_train_batch_size=case["batchSize"], max_steps=req["steps"],
        learning_rate=req["learningRate"], lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, optim="adamw_torch",
        max_grad_norm=1.0, max_length=None, logging_steps=1, save_strategy="no", report_to="none", seed=req["seed"],
        use_cpu=True, bf16=False, gradient_checkpointing=False, dataloader_num_workers=0, disable_tqdm=True, remove_unused_columns=False,
    )
    trainer = Recorded(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.recorded = []
    prepared = trainer.train_dataset
    trainer.train()
    steps = trainer.recorded
    kl = "KL_completion_ids" in prepared.column_names
    return {
        "examples": [{"completion": row["completion_ids"], "kl": row["KL_completion_ids"] if kl else None, "label": bool(row["label"])} for row in prepared],
        "ref": {"completions": [float(x) for x in prepared["ref_logps"]], "kl": [float(x) for x in prepared["ref_KL_logps"]] if kl else []},
        "loss": [s["loss"] for s in steps],
        "metrics": {m: [s[m] for s in steps] for m in METRICS},
    }


def main() -> None:
    req = json.load(sys.stdin)
    torch.use_deterministic_algorithms(True, warn_only=True)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(req["tokenizer"])
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    result = {"cases": [run_case(req, tokenizer, case) for case in req["cases"]]}
    print("result " + json.dumps(result), flush=True)  # Trainer prints its logs on stdout too


if __name__ == "__main__":
    main()
