"""TRL's DPOTrainer as the oracle for tunekit's dpo stage (test/trl/dpo.test.ts), in .venv-trl.

Reads one request (JSON on stdin), prints `result <JSON>`:
  request: {model, tokenizer, pairs, adapter, out, seed, steps, batchSize, learningRate,
            cases: [{lossType, beta, labelSmoothing}]}
    pairs: [{prompt, chosen, rejected}] token ids, exactly the ones tunekit trains on (its pairs/ shards)
    adapter: the initial LoRA adapter (PEFT layout, B non-zero so the policy differs from the
             reference from step 1), which every case starts from, as tunekit's runs do
  result: {ref: {chosen, rejected}, cases: [{loss: [per step], metrics: {name: [per step]}}]}

TRL is given the pairs already tokenized (its own tokenization is not what is compared), a sequential
sampler (no shuffle), precompute_ref_log_probs (the base with the adapter off, as tunekit's
ref-logprobs node), dropout off, AdamW from torch, constant learning rate. Loss and metrics are read
where DPOTrainer computes them, unrounded.
"""

import json
import sys

import torch
from datasets import Dataset
from peft import PeftModel
from torch.utils.data import SequentialSampler
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
from trl import DPOConfig, DPOTrainer

METRICS = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"]


class Recorded(DPOTrainer):
    """DPOTrainer that keeps each step's loss and metrics as computed (Trainer's logs round the loss)."""

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        return dataset  # already prompt_ids / chosen_ids / rejected_ids

    def _get_train_sampler(self, *args, **kwargs):
        return SequentialSampler(self.train_dataset)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if model.training:
            self.recorded.append({"loss": float(loss.detach()), **{m: self._metrics["train"][m][-1] for m in METRICS}})
        return loss


def run_case(req: dict, tokenizer, dataset, case: dict) -> dict:
    base = AutoModelForCausalLM.from_pretrained(req["model"], dtype=torch.float32)
    model = PeftModel.from_pretrained(base, req["adapter"], is_trainable=True)
    args = DPOConfig(
        output_dir=req["out"], beta=case["beta"], loss_type=[case["lossType"]], label_smoothing=case["labelSmoothing"],
        precompute_ref_log_probs=True, per_device_train_batch_size=req["batchSize"], max_steps=req["steps"],
        learning_rate=req["learningRate"], lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, optim="adamw_torch",
        max_grad_norm=1.0, max_length=None, logging_steps=1, save_strategy="no", report_to="none", seed=req["seed"],
        use_cpu=True, bf16=False, gradient_checkpointing=False, dataloader_num_workers=0, disable_tqdm=True, remove_unused_columns=False,
    )
    trainer = Recorded(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.recorded = []
    ref = trainer.train_dataset
    trainer.train()
    steps = trainer.recorded
    return {
        "ref": {"chosen": [float(x) for x in ref["ref_chosen_logps"]], "rejected": [float(x) for x in ref["ref_rejected_logps"]]},
        "loss": [s["loss"] for s in steps],
        "metrics": {m: [s[m] for s in steps] for m in METRICS},
    }


def main() -> None:
    req = json.load(sys.stdin)
    torch.use_deterministic_algorithms(True, warn_only=True)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(req["tokenizer"])
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    dataset = Dataset.from_list([{"prompt_ids": p["prompt"], "chosen_ids": p["chosen"], "rejected_ids": p["rejected"]} for p in req["pairs"]])
    cases = [run_case(req, tokenizer, dataset, case) for case in req["cases"]]
    result = {"ref": cases[0]["ref"], "cases": [{"loss": c["loss"], "metrics": c["metrics"]} for c in cases]}
    print("result " + json.dumps(result), flush=True)  # Trainer prints its logs on stdout too


if __name__ == "__main__":
    main()
