"""The baselines bench/gpu-train.py compares tunekit with, on LoRA/QLoRA on every linear layer:

- `--trainer hf` (default): plain transformers + PEFT, configured as the qlora-minimal tutorial:
  Trainer, pad to the longest sample of each batch, group_by_length, no packing, paged AdamW, bf16;
- `--trainer trl`: TRL's SFTTrainer with `padding_free=True` (its DataCollatorForLanguageModeling
  lays each batch end to end in one row with restarting position ids and the varlen boundaries),
  completion-only loss from the shards' mask, over the same PEFT model.

Usage (normally started by gpu-train.py, which prepares the model and data):
  python bench/gpu-baseline.py --model DIR --shards DIR --steps 20 --warmup 3 --batch 16 [--quant nf4] [--plan plan.json] [--out result.json]
  --tiny runs on CPU in float32 (to check the script without a GPU); --trainer trl needs trl and --tokenizer.
Prints one JSON line: tokens/s (real, padded), peak memory, step time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def load_samples(shards: Path) -> list[dict]:
    """Token shards (tunekit layout) -> [{input_ids, labels}] with -100 where the mask is 0."""
    index = json.loads((shards / "index.json").read_text())
    ids = np.memmap(shards / "ids.bin", dtype="<i4", mode="r")
    mask = np.memmap(shards / "mask.bin", dtype="u1", mode="r")
    out = []
    for off, n in zip(index["offsets"], index["lengths"]):
        x = np.asarray(ids[off : off + n], dtype=np.int64)
        m = np.asarray(mask[off : off + n])
        # transformers shifts labels inside the model: labels[t] = ids[t] where supervised
        out.append({"input_ids": x.tolist(), "labels": np.where(m == 1, x, -100).tolist()})
    return out, int(index.get("padId") or 0)


class Collator:
    """Pads to the longest sample of the batch (right padding), as DataCollatorForSeq2Seq does."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, batch: list[dict]) -> dict:
        n = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), n), self.pad_id, dtype=torch.long)
        labels = torch.full((len(batch), n), -100, dtype=torch.long)
        attn = torch.zeros((len(batch), n), dtype=torch.long)
        for i, b in enumerate(batch):
            k = len(b["input_ids"])
            ids[i, :k] = torch.tensor(b["input_ids"])
            labels[i, :k] = torch.tensor(b["labels"])
            attn[i, :k] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": attn}


def shard_masks(shards: Path) -> list[list[int]]:
    """Each sample's loss mask (1 = a supervised token): SFTTrainer's completion_mask."""
    index = json.loads((shards / "index.json").read_text())
    mask = np.memmap(shards / "mask.bin", dtype="u1", mode="r")
    return [np.asarray(mask[off : off + n]).astype(int).tolist() for off, n in zip(index["offsets"], index["lengths"])]


def trl_trainer(model, samples: list[dict], masks: list[list[int]], a, common: dict, clock):
    """TRL's SFTTrainer, padding-free, on tokenized samples (input_ids + completion_mask: TRL skips
    its own tokenization) in the given order, with the loss on the completion tokens only."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    data = Dataset.from_list([{"input_ids": x["input_ids"], "completion_mask": m} for x, m in zip(samples, masks)])
    config = SFTConfig(padding_free=True, packing=False, completion_only_loss=True, max_length=None,  # the samples fit: no truncation
                       dataset_num_proc=None, **common)
    return SFTTrainer(model=model, args=config, train_dataset=data, processing_class=AutoTokenizer.from_pretrained(a.tokenizer), callbacks=[clock])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--shards", required=True)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rank", type=int, default=64)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--quant", choices=["none", "nf4"], default="none")
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--tiny", action="store_true", help="CPU, float32, adamw_torch: a functional check only")
    ap.add_argument("--plan", help="tunekit plan.json: train on exactly its micro-batches, in order (same work as the worker)")
    ap.add_argument("--trainer", choices=["hf", "trl"], default="hf", help="transformers Trainer, or TRL's SFTTrainer (padding-free)")
    ap.add_argument("--tokenizer", help="tokenizer folder (SFTTrainer's processing_class)")
    ap.add_argument("--out")
    a = ap.parse_args()

    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig, Trainer, TrainerCallback, TrainingArguments

    cuda = torch.cuda.is_available() and not a.tiny
    dtype = torch.bfloat16 if cuda else torch.float32
    # the worker's rule (tunekit_torch.modeling.attention_kind, unpacked rows): FlashAttention-2 when
    # installed on CUDA, else SDPA, so both scripts run the same attention kernels
    import importlib.util

    attention = "flash_attention_2" if cuda and importlib.util.find_spec("flash_attn") else "sdpa"
    kwargs = {"dtype": dtype, "attn_implementation": attention}
    if a.quant == "nf4":
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16)
        kwargs["device_map"] = {"": 0}
    model = AutoModelForCausalLM.from_pretrained(a.model, **kwargs)
    if a.quant == "nf4":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=a.gradient_checkpointing)
    elif cuda:
        model.to("cuda")
    config = LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=0.05, bias="none", task_type="CAUSAL_LM",
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    model = get_peft_model(model, config)
    samples, pad_id = load_samples(Path(a.shards))
    masks = shard_masks(Path(a.shards))
    if a.plan:
        # The plan's batches already follow group_by_length (gpu-train.py builds them as
        # LengthGroupedSampler does); reading them in order gives both scripts identical batches,
        # so the same padded shapes and trained tokens per step.
        plan = json.loads(Path(a.plan).read_text())
        mbs = plan["epochsPlan"][0]["microBatches"]
        if any(len(row) != 1 or row[0]["start"] != 0 for mb in mbs for row in mb["rows"]) or any(len(mb["rows"]) != a.batch for mb in mbs):
            raise SystemExit("--plan: only unpacked plans of whole samples with --batch rows per micro-batch")
        samples = [samples[row[0]["sample"]] for mb in mbs for row in mb["rows"]]
        masks = [masks[row[0]["sample"]] for mb in mbs for row in mb["rows"]]

    times: list[float] = []
    real_tokens: list[int] = []
    padded_tokens: list[int] = []

    class Clock(TrainerCallback):
        """Wall time between consecutive step ends (data loading, forward, backward, optimizer)."""

        def on_train_begin(self, args, state, control, **kw):
            self.last = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            now = time.perf_counter()
            times.append(now - self.last)
            self.last = now

    class CountingCollator(Collator):
        def __call__(self, batch):
            out = super().__call__(batch)
            real_tokens.append(int(out["attention_mask"].sum()))
            padded_tokens.append(out["input_ids"].numel())
            return out

    common = dict(
        output_dir=str(Path(a.out or "bench/results/baseline").with_suffix("")) + f"-{a.trainer}",
        per_device_train_batch_size=a.batch,
        gradient_accumulation_steps=1,
        max_steps=a.steps + a.warmup,
        learning_rate=2e-4,
        lr_scheduler_type="constant",
        optim="paged_adamw_32bit" if cuda and a.quant == "nf4" else "adamw_torch",
        bf16=cuda,
        # transformers 5 name of group_by_length=True; with --plan the order is the plan's
        train_sampling_strategy="sequential" if a.plan else "group_by_length",
        gradient_checkpointing=a.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if a.gradient_checkpointing else None,
        logging_steps=10_000,
        save_strategy="no",
        report_to=[],
        dataloader_num_workers=0,
        use_cpu=not cuda,
        disable_tqdm=True,
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    if a.trainer == "trl":
        trainer = trl_trainer(model, samples, masks, a, common, Clock())
        # SFTTrainer builds its own collator (padding-free refuses another): the batches are the plan's, in order
        lengths = [len(x["input_ids"]) for x in samples]
        real_tokens.extend(sum(lengths[i : i + a.batch]) for i in range(0, len(lengths), a.batch))
        padded_tokens.extend(real_tokens)
    else:
        args = TrainingArguments(remove_unused_columns=False, **common)
        trainer = Trainer(model=model, args=args, train_dataset=samples, data_collator=CountingCollator(pad_id), callbacks=[Clock()])
    trainer.train()
    w = a.warmup
    t = sum(times[w:])
    result = {
        "impl": "TRL SFTTrainer (padding-free)" if a.trainer == "trl" else "transformers Trainer + PEFT",
        "quant": a.quant,
        "steps": len(times) - w,
        "tokensPerSecond": sum(real_tokens[w : len(times)]) / t,
        "paddedTokensPerSecond": sum(padded_tokens[w : len(times)]) / t,
        "secondsPerStep": t / max(1, len(times) - w),
        "realTokensPerStep": real_tokens[: len(times)],
        "peakMemoryBytes": int(torch.cuda.max_memory_allocated()) if cuda else None,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "attention": attention,
    }
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
