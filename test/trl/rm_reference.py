"""TRL's RewardTrainer as the oracle for tunekit's rm stage (test/trl/rm.test.ts), in .venv-trl.

Reads requests (one JSON a line on stdin), prints `result <JSON>` for each, in order:
  training: {model, tokenizer, padId, pairs, adapter, out, seed, steps, batchSize, learningRate,
             cases: [{centerRewardsCoefficient}]}
    pairs: [{chosen, rejected}] token ids of the whole sequences (prompt ++ answer), exactly what
           tunekit trains on (its pairs/ shards)
    adapter: the initial adapter in PEFT's SEQ_CLS layout (LoRA matrices with B non-zero, and the
             seeded `score` head in modules_to_save), which every case starts from, as tunekit's runs do
    result: {cases: [{loss: [per step], metrics: {name: [per step]}}]}
  merged: {merged: folder of a merged reward model, rows: [[ids], ...]}
    result: {rewards: [per row]}: AutoModelForSequenceClassification.from_pretrained(folder), as
            any transformers user loads a reward model

TRL is given the sequences already tokenized, a sequential sampler (no shuffle), dropout off,
AdamW from torch, constant learning rate, no max_length filter. Loss and metrics are read where
RewardTrainer computes them, unrounded.
"""

import json
import sys

import torch
from datasets import Dataset
from peft import PeftModel
from torch.utils.data import SequentialSampler
from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerFast
from trl import RewardConfig, RewardTrainer

METRICS = ["accuracy", "margin", "min_reward", "mean_reward", "max_reward"]


class Recorded(RewardTrainer):
    """RewardTrainer that keeps each step's loss and metrics as computed (Trainer's logs round the loss)."""

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        return dataset  # already chosen_ids / rejected_ids

    def _get_train_sampler(self, *args, **kwargs):
        return SequentialSampler(self.train_dataset)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if model.training:
            self.recorded.append({"loss": float(loss.detach()), **{m: self._metrics["train"][m][-1] for m in METRICS}})
        return loss


def run_case(req: dict, tokenizer, dataset, case: dict) -> dict:
    base = AutoModelForSequenceClassification.from_pretrained(req["model"], num_labels=1, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, req["adapter"], is_trainable=True)
    args = RewardConfig(
        output_dir=req["out"], center_rewards_coefficient=case.get("centerRewardsCoefficient"),
        per_device_train_batch_size=req["batchSize"], max_steps=req["steps"], max_length=None,
        learning_rate=req["learningRate"], lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, optim="adamw_torch",
        max_grad_norm=1.0, logging_steps=1, save_strategy="no", report_to="none", seed=req["seed"],
        use_cpu=True, bf16=False, gradient_checkpointing=False, dataloader_num_workers=0, disable_tqdm=True, remove_unused_columns=False,
    )
    trainer = Recorded(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.recorded = []
    trainer.train()
    steps = trainer.recorded
    return {"loss": [s["loss"] for s in steps], "metrics": {m: [s[m] for s in steps] for m in METRICS}}


def merged_rewards(req: dict) -> list[float]:
    """Rewards of the merged folder, loaded as any transformers user loads a reward model."""
    model = AutoModelForSequenceClassification.from_pretrained(req["merged"], dtype=torch.float32).eval()
    out = []
    with torch.no_grad():
        for ids in req["rows"]:
            x = torch.tensor([ids])
            out.append(float(model(input_ids=x, attention_mask=torch.ones_like(x)).logits[0, 0]))
    return out


def answer(req: dict) -> dict:
    if "merged" in req:
        return {"rewards": merged_rewards(req)}
    tokenizer = PreTrainedTokenizerFast.from_pretrained(req["tokenizer"])
    tokenizer.pad_token = tokenizer.convert_ids_to_tokens(req["padId"])  # the pad tunekit's shards use
    dataset = Dataset.from_list([{"chosen_ids": p["chosen"], "rejected_ids": p["rejected"]} for p in req["pairs"]])
    return {"cases": [run_case(req, tokenizer, dataset, case) for case in req["cases"]]}


def main() -> None:
    torch.use_deterministic_algorithms(True, warn_only=True)
    for line in sys.stdin:  # one request a line, answered in order: the imports are paid once
        print("result " + json.dumps(answer(json.loads(line))), flush=True)  # Trainer prints its logs on stdout too


if __name__ == "__main__":
    main()
