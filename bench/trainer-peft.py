"""The reference side of bench/vs-trainer.ts: a transformers `Trainer` + PEFT LoRA run fed exactly
what a tunekit train node reads (the model folder, the tokenize node's tokenizer, the split's
token shards and the collate node's batch plan), so both train on the same token ids, mask and
batch order.

  python bench/trainer-peft.py JOB.json

JOB: {modelDir, tokenizerDir, shardsDir, planFile, outDir, lora: {rank, alpha, dropout,
targetModules, modulesToSave}, args: {learningRate, lrScheduler, warmupSteps, weightDecay,
adamBeta1, adamBeta2, adamEpsilon, maxGradNorm, seed, saveEvery}}.

Prints one JSON line: seconds from the start of this process (imports, model load, training and
saving the adapter: what a tunekit train node's time holds), seconds in `trainer.train()` alone,
the end time of each step (ms), steps, real and padded tokens, and this process's peak RSS.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainerCallback, TrainingArguments  # noqa: E402

IGNORE = -100


class Shards:
    """tunekit's token shards (docs/architecture.md): ids.bin int32, mask.bin uint8 (1 = trained), index.json."""

    def __init__(self, folder: Path) -> None:
        index = json.loads((folder / "index.json").read_text())
        self.offsets = index["offsets"]
        self.pad_id = int(index.get("padId") if index.get("padId") is not None else index.get("eosId", 0))
        self.ids = np.fromfile(folder / "ids.bin", dtype="<i4")
        self.mask = np.fromfile(folder / "mask.bin", dtype="u1")


def micro_batch(shards: Shards, mb: dict) -> dict:
    """One micro-batch of the plan, right-padded to its length. Labels are the ids where the mask
    trains them (the model shifts them by one, as tunekit's pre-shifted labels are); a packed row's
    segments restart their position ids, as tunekit's rows do."""
    rows, length = mb["rows"], int(mb["length"])
    ids = np.full((len(rows), length), shards.pad_id, dtype=np.int64)
    labels = np.full((len(rows), length), IGNORE, dtype=np.int64)
    attention = np.zeros((len(rows), length), dtype=np.int64)
    positions = np.zeros((len(rows), length), dtype=np.int64)
    for r, row in enumerate(rows):
        col = 0
        for seg in row:
            n, start = int(seg["length"]), shards.offsets[seg["sample"]] + int(seg["start"])
            tokens, trained = shards.ids[start : start + n], shards.mask[start : start + n]
            ids[r, col : col + n] = tokens
            labels[r, col : col + n] = np.where(trained == 1, tokens, IGNORE)
            labels[r, col] = IGNORE  # a segment's first token is predicted from nothing
            attention[r, col : col + n] = 1
            positions[r, col : col + n] = np.arange(n)
            col += n
    return {k: torch.from_numpy(v) for k, v in
            {"input_ids": ids, "labels": labels, "attention_mask": attention, "position_ids": positions}.items()}


class PlanBatches(Dataset):
    """The batch plan's micro-batches in the plan's order, each already a batch."""

    def __init__(self, shards: Shards, micro_batches: list[dict]) -> None:
        self.shards, self.micro_batches = shards, micro_batches

    def __len__(self) -> int:
        return len(self.micro_batches)

    def __getitem__(self, i: int) -> dict:
        return micro_batch(self.shards, self.micro_batches[i])


class PlanTrainer(Trainer):
    """A Trainer whose data loader yields the plan's micro-batches as they are (no sampler, no
    collator: the order and padding are tunekit's)."""

    def __init__(self, *a, plan_batches: PlanBatches, **kw) -> None:
        super().__init__(*a, **kw)
        self.plan_batches = plan_batches

    def get_train_dataloader(self) -> DataLoader:
        return DataLoader(self.plan_batches, batch_size=1, shuffle=False, collate_fn=lambda items: items[0])


class StepEnds(TrainerCallback):
    """The wall-clock end of every optimiser step (ms), as tunekit's step events time them."""

    def __init__(self) -> None:
        self.ends: list[dict] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append({"step": state.global_step, "time": time.time() * 1000})


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    plan = json.loads(Path(job["planFile"]).read_text())
    accum = int(plan["gradientAccumulationSteps"])
    steps = int(plan["totalSteps"])
    micro = [mb for epoch in plan["epochsPlan"] for mb in epoch["microBatches"]][: steps * accum]
    shards = Shards(Path(job["shardsDir"]))
    tokenizer = AutoTokenizer.from_pretrained(job["tokenizerDir"])
    torch.manual_seed(int(job["args"]["seed"]))
    model = AutoModelForCausalLM.from_pretrained(job["modelDir"], dtype=torch.float32, attn_implementation="sdpa")
    if len(tokenizer) != model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    lora, a = job["lora"], job["args"]
    model = get_peft_model(model, LoraConfig(
        r=lora["rank"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"], target_modules=lora["targetModules"],
        modules_to_save=lora["modulesToSave"] or None, task_type="CAUSAL_LM"))
    save_every = a["saveEvery"]
    args = TrainingArguments(
        output_dir=job["outDir"], max_steps=steps, per_device_train_batch_size=int(plan["microBatchSize"]),
        gradient_accumulation_steps=accum, learning_rate=a["learningRate"], lr_scheduler_type=a["lrScheduler"],
        warmup_steps=int(a["warmupSteps"]), weight_decay=a["weightDecay"], adam_beta1=a["adamBeta1"], adam_beta2=a["adamBeta2"],
        adam_epsilon=a["adamEpsilon"], max_grad_norm=a["maxGradNorm"], optim="adamw_torch", seed=int(a["seed"]),
        logging_steps=10, save_strategy="steps" if isinstance(save_every, int) else "no",
        **({"save_steps": save_every} if isinstance(save_every, int) else {}),
        report_to=[], use_cpu=True, dataloader_num_workers=0, disable_tqdm=True, remove_unused_columns=False)
    ends = StepEnds()
    trainer = PlanTrainer(model=model, args=args, plan_batches=PlanBatches(shards, micro), callbacks=[ends])
    train_start = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - train_start
    model.save_pretrained(job["outDir"])
    real = sum(int(seg["length"]) for mb in micro for row in mb["rows"] for seg in row)
    padded = sum(int(mb["length"]) * len(mb["rows"]) for mb in micro)
    print(json.dumps({"seconds": time.perf_counter() - STARTED, "trainSeconds": train_seconds, "steps": steps, "stepEnds": ends.ends,
                      "tokens": real, "paddedTokens": padded, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main()
