"""TRL's ORPOTrainer and CPOTrainer (loss_type="simpo") as the oracle for tunekit's orpo and simpo
stages (test/trl/orpo.test.ts), in .venv-trl (TRL 1.16: both under trl.experimental).

Reads one request (JSON on stdin), prints `result <JSON>`:
  request: {model, tokenizer, pairs, adapter, out, seed, steps, batchSize, learningRate,
            cases: [{kind: "orpo", beta} | {kind: "simpo", beta, simpoGamma, cpoAlpha, labelSmoothing}]}
    pairs: [{prompt, chosen, rejected, chosenLabels, rejectedLabels}] token ids and answer label
           masks, exactly the ones tunekit trains on (its pairs/ shards)
    adapter: the initial LoRA adapter (PEFT layout), which every case starts from, as tunekit's runs do
  result: {cases: [{loss: [per step], metrics: {name: [per step]}}]}

TRL is given the pairs already tokenized (its tokenize_row is bypassed: its own tokenization is not
what is compared) in the columns tokenize_row would write (prompt labels -100), a sequential
sampler (no shuffle), dropout off, AdamW from torch, constant learning rate, float32. Loss and
metrics are read where the trainers compute them, unrounded.
"""

import json
import os
import sys

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

import torch
from datasets import Dataset
from peft import PeftModel
from torch.utils.data import SequentialSampler
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
from trl.experimental.cpo import CPOConfig, CPOTrainer
from trl.experimental.orpo import ORPOConfig, ORPOTrainer

METRICS = {
    "orpo": ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected",
             "nll_loss", "log_odds_ratio", "log_odds_chosen"],
    "simpo": ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "nll_loss"],
}


def recorded(trainer_class):
    """The trainer, keeping each step's loss and metrics as computed (Trainer's logs round the loss)."""

    class Recorded(trainer_class):
        def tokenize_row(self, feature, model=None):
            return {}  # the columns are already tokenize_row's

        def _get_train_sampler(self, *args, **kwargs):
            return SequentialSampler(self.train_dataset)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            if model.training:
                stored = self._stored_metrics["train"]
                self.recorded.append({"loss": float(loss.detach()), **{m: stored[m][-1] for m in METRICS[self.kind]}})
            return loss

    return Recorded


def columns(pair: dict) -> dict:
    """One row as tokenize_row writes it: prompt ++ answer, labels -100 on the prompt and unlabelled answer tokens."""
    row = {"prompt_input_ids": pair["prompt"], "prompt_attention_mask": [1] * len(pair["prompt"])}
    for side in ("chosen", "rejected"):
        ids = pair["prompt"] + pair[side]
        row[f"{side}_input_ids"] = ids
        row[f"{side}_attention_mask"] = [1] * len(ids)
        row[f"{side}_labels"] = [-100] * len(pair["prompt"]) + [t if m else -100 for t, m in zip(pair[side], pair[f"{side}Labels"])]
    return row


def run_case(req: dict, tokenizer, dataset, case: dict) -> dict:
    base = AutoModelForCausalLM.from_pretrained(req["model"], dtype=torch.float32)
    model = PeftModel.from_pretrained(base, req["adapter"], is_trainable=True)
    common = dict(
        output_dir=req["out"], beta=case["beta"], per_device_train_batch_size=req["batchSize"], max_steps=req["steps"],
        learning_rate=req["learningRate"], lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, optim="adamw_torch",
        max_grad_norm=1.0, max_length=512, logging_steps=1, save_strategy="no", report_to="none", seed=req["seed"],
        use_cpu=True, bf16=False, gradient_checkpointing=False, dataloader_num_workers=0, disable_tqdm=True, remove_unused_columns=False,
    )
    if case["kind"] == "orpo":
        trainer_class, args = ORPOTrainer, ORPOConfig(**common)
    else:
        trainer_class = CPOTrainer
        args = CPOConfig(**common, loss_type="simpo", simpo_gamma=case["simpoGamma"], cpo_alpha=case["cpoAlpha"], label_smoothing=case["labelSmoothing"])
    cls = recorded(trainer_class)
    cls.kind = case["kind"]
    trainer = cls(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.recorded = []
    trainer.train()
    steps = trainer.recorded
    return {"loss": [s["loss"] for s in steps], "metrics": {m: [s[m] for s in steps] for m in METRICS[case["kind"]]}}


def main() -> None:
    req = json.load(sys.stdin)
    torch.use_deterministic_algorithms(True, warn_only=True)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(req["tokenizer"])
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    dataset = Dataset.from_list([columns(p) for p in req["pairs"]])
    result = {"cases": [run_case(req, tokenizer, dataset, case) for case in req["cases"]]}
    print("result " + json.dumps(result), flush=True)  # Trainer prints its logs on stdout too


if __name__ == "__main__":
    main()
