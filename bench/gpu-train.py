"""GPU training throughput: tunekit's torch worker vs a plain transformers + PEFT script
(bench/gpu-baseline.py, configured as the qlora-minimal tutorial), side by side in one run, on a
random-initialised Mistral-7B-shaped model at sequence length 512: bf16 LoRA, and 4-bit QLoRA
when bitsandbytes is installed. Prints a table (tokens/s, peak memory, MFU) and writes JSON.

  python bench/gpu-train.py                      # on an H100/H200: both configs, both scripts
  python bench/gpu-train.py --tiny               # CPU check of the whole pipeline (tiny model)
  python bench/gpu-train.py --small --threads 1  # CPU comparison with some compute per step

Both scripts train on the same synthetic samples (OASST-like lengths, seeded) with the same
batch size, LoRA (r 64, alpha 16, all linear layers) and optimizer. MFU counts LoRA's model FLOPs
per real token: 4·N (forward + input gradients; frozen weights get no weight gradient) + causal
attention 6·L·d·s, against the GPU's dense bf16 peak (override with BENCH_PEAK_FLOPS).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(os.environ.get("BENCH_WORKER") or ROOT / "packages" / "torch" / "python")  # BENCH_WORKER: another copy, to compare versions

MISTRAL_7B = dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                  num_key_value_heads=8, max_position_embeddings=32768, rms_norm_eps=1e-5, rope_theta=10000.0, sliding_window=4096,
                  bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)
TINY = dict(MISTRAL_7B, vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
SMALL = dict(MISTRAL_7B, vocab_size=4096, hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=2)
# CPU configurations: model, then seq, batch, timed steps, warmup unless given on the command line
CPU_RUNS = {"tiny": (TINY, 64, 4, 3, 1), "small": (SMALL, 256, 8, 10, 2)}
PEAK_BF16 = {"H200": 989.4e12, "H100": 989.4e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


def make_model(folder: Path, cfg: dict, dtype: torch.dtype, device: str) -> None:
    from transformers import MistralConfig, MistralForCausalLM

    if (folder / "config.json").exists():
        return
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # build in bf16 directly: 14.5 GB on the GPU, not 29 GB in fp32
    try:
        with torch.device(device):
            model = MistralForCausalLM(MistralConfig(**cfg))  # transformers' init: N(0, 0.02)
    finally:
        torch.set_default_dtype(default)
    model.save_pretrained(str(folder), max_shard_size="5GB")
    del model


def make_tokenizer(folder: Path, vocab: int) -> None:
    """A word-level tokenizer with `vocab` ids (the data is ids already; the worker needs its size)."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    words = ["<unk>", "<s>", "</s>"] + [f"t{i}" for i in range(vocab - 3)]
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>")),
                                  bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="</s>")
    tok.save_pretrained(str(folder))


def make_samples(n: int, seq: int, vocab: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """OASST-like lengths (log-normal, median ~ seq/2, clipped to [32, seq]); prompt 40% unsupervised."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(seq * 0.45), 0.6, n).astype(int), 32, seq)
    out = []
    for length in lengths:
        ids = rng.integers(3, vocab, length).astype("<i4")
        ids[0], ids[-1] = 1, 2
        mask = np.zeros(length, "u1")
        mask[int(length * 0.4) :] = 1
        out.append((ids, mask))
    return out


def write_shards(folder: Path, samples) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.concatenate([s[0] for s in samples]).tofile(folder / "ids.bin")
    np.concatenate([s[1] for s in samples]).tofile(folder / "mask.bin")
    lengths = [len(s[0]) for s in samples]
    offsets = np.cumsum([0] + lengths[:-1]).tolist()
    (folder / "index.json").write_text(json.dumps({"format": "tunekit-shards", "version": 1, "key": "bench", "count": len(samples),
                                                   "offsets": offsets, "lengths": lengths, "stats": {}, "eosId": 2, "padId": 2, "bosId": 1}))


def write_plan(folder: Path, lengths: list[int], batch: int, steps: int, seed: int = 0) -> None:
    """group_by_length as transformers' LengthGroupedSampler: megabatches of 50 batches, longest first."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths)).tolist()
    mega = batch * 50
    grouped = []
    for i in range(0, len(order), mega):
        grouped += sorted(order[i : i + mega], key=lambda s: -lengths[s])
    mbs = []
    for i in range(0, len(grouped) - batch + 1, batch):
        chunk = grouped[i : i + batch]
        mbs.append({"length": max(lengths[s] for s in chunk), "rows": [[{"sample": s, "start": 0, "length": lengths[s]}] for s in chunk]})
    mbs = mbs[:steps]
    plan = {"version": 1, "seqLen": max(lengths), "microBatchSize": batch, "gradientAccumulationSteps": 1, "stepsPerEpoch": len(mbs),
            "totalSteps": len(mbs), "epochs": 1, "paddingEfficiency": 0, "epochsPlan": [{"microBatches": mbs}], "eval": {"microBatches": []}}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.json").write_text(json.dumps(plan))


def run_tunekit(root: Path, quant: str, a, cuda: bool) -> dict:
    name = f"tunekit-{quant}"
    params = {
        "model": {"id": "random/mistral-7b-shaped", "family": "mistral", "dtype": "bfloat16" if cuda else "float32",
                  "gradientCheckpointing": a.gradient_checkpointing,
                  **({"quantize": {"bits": 4, "type": "nf4", "doubleQuant": True, "computeDtype": "bfloat16"}} if quant == "nf4" else {})},
        "lora": {"rank": 64, "alpha": 16, "dropout": 0.05, "targetModules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                 "modulesToSave": [], "trainableTokens": False, "rsLora": False, "init": "default"},
        "args": {"learningRate": 2e-4, "lrScheduler": "constant", "warmupSteps": 0, "optimizer": "paged_adamw_32bit" if quant == "nf4" else "adamw_torch",
                 "weightDecay": 0.0, "adamBeta1": 0.9, "adamBeta2": 0.999, "adamEpsilon": 1e-8, "maxGradNorm": 1.0,
                 "evalEvery": "never", "saveEvery": "never", "keepCheckpoints": 1, "seed": 0, "logEvery": 1},
    }
    spec = {"version": 1, "node": {"id": "train", "kind": "train", "key": name, "params": params},
            "inputs": {k: {"kind": k, "dir": str(root / k)} for k in ("model", "tokenize", "split", "collate")},
            "outDir": str(root / name / "out"), "workDir": str(root / name / "work"), "device": "cuda" if cuda else "cpu"}
    spec_file = root / f"{name}.json"
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONPATH": str(WORKER)}
    proc = subprocess.run([sys.executable, "-m", "tunekit_torch", "run", str(spec_file)], stdout=subprocess.PIPE, stderr=sys.stderr, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"tunekit worker exited {proc.returncode}")
    steps = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith('{"type":"step"')]
    timed = steps[a.warmup :]
    # logEvery 1: each step event's tokensPerSecond covers exactly that step; the run's rate is
    # total real tokens / total seconds, i.e. the token-weighted harmonic combination below
    plan = json.loads((root / "collate" / "plan.json").read_text())
    tokens = [sum(len(r) and r[0]["length"] for r in mb["rows"]) for mb in plan["epochsPlan"][0]["microBatches"]][a.warmup :]
    seconds = sum(n / e["tokensPerSecond"] for n, e in zip(tokens, timed))
    return {"impl": "tunekit torch worker", "quant": quant, "steps": len(timed),
            "tokensPerSecond": sum(tokens[: len(timed)]) / seconds if timed else None,
            "secondsPerStep": seconds / max(1, len(timed)),
            "peakMemoryBytes": max((e.get("memoryBytes") or 0) for e in steps) or None,
            "device": torch.cuda.get_device_name(0) if cuda else "cpu"}


def run_baseline(root: Path, quant: str, a, cuda: bool) -> dict:
    out = root / f"baseline-{quant}.json"
    cmd = [sys.executable, str(ROOT / "bench" / "gpu-baseline.py"), "--model", str(root / "model"), "--shards", str(root / "split" / "train"),
           "--steps", str(a.steps), "--warmup", str(a.warmup), "--batch", str(a.batch), "--quant", quant, "--out", str(out),
           "--plan", str(root / "collate" / "plan.json")]  # the worker's batches, in its order: same work per step
    if a.gradient_checkpointing:
        cmd.append("--gradient-checkpointing")
    if a.tiny or a.small:
        cmd.append("--tiny")  # the baseline's CPU float32 mode
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    result = json.loads(out.read_text())
    plan = json.loads((root / "collate" / "plan.json").read_text())
    planned = [sum(r[0]["length"] for r in mb["rows"]) for mb in plan["epochsPlan"][0]["microBatches"]]
    if result.get("realTokensPerStep") != planned[: len(result.get("realTokensPerStep") or [])]:
        print(f"warning: the baseline's batches are not the plan's ({result.get('realTokensPerStep')} vs {planned} tokens)", file=sys.stderr)
    return result


def flops_per_token(cfg: dict, mean_len: float) -> float:
    d, L, ff, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]
    kv = d * cfg["num_key_value_heads"] // cfg["num_attention_heads"]
    n_matmul = L * (2 * d * d + 2 * d * kv + 3 * d * ff) + d * V  # weights used in matmuls (no embedding lookup)
    return 4 * n_matmul + 6 * L * d * mean_len  # LoRA: forward + input grads; causal attention ~ half of 12·L·d·s


def peak_flops(cuda: bool) -> float | None:
    if os.environ.get("BENCH_PEAK_FLOPS"):
        return float(os.environ["BENCH_PEAK_FLOPS"])
    if not cuda:
        return None
    name = torch.cuda.get_device_name(0)
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="tiny model on CPU, float32 (checks the scripts without a GPU)")
    ap.add_argument("--small", action="store_true", help="4-layer d256 model on CPU, float32, seq 256, batch 8, 10 steps")
    ap.add_argument("--threads", type=int, help="torch CPU threads of both scripts (OMP_NUM_THREADS); 1 on a busy machine, "
                    "where two threads that share a core make every small matmul wait (8 ms instead of 0.05 ms)")
    ap.add_argument("--seq", type=int, help="default 512")
    ap.add_argument("--batch", type=int, help="default 16")
    ap.add_argument("--steps", type=int, help="timed steps (default 20)")
    ap.add_argument("--warmup", type=int, help="untimed first steps (default 3)")
    # on by default, as in the QLoRA recipes: 16 × 512 tokens of 7B activations do not fit 80 GB without it
    ap.add_argument("--gradient-checkpointing", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--dir", default=str(ROOT / "bench" / "results" / "gpu-train"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "gpu-train.json"))
    a = ap.parse_args()
    size = "tiny" if a.tiny else "small" if a.small else "mistral-7b"
    cfg, *defaults = CPU_RUNS.get(size, (MISTRAL_7B, 512, 16, 20, 3))
    for name, value in zip(("seq", "batch", "steps", "warmup"), defaults):
        if getattr(a, name) is None:
            setattr(a, name, value)
    if a.threads:
        os.environ["OMP_NUM_THREADS"] = str(a.threads)  # read by both scripts' torch at start
        torch.set_num_threads(a.threads)
    cuda = torch.cuda.is_available() and size == "mistral-7b"
    root = Path(a.dir) / size
    t0 = time.perf_counter()
    make_model(root / "model", cfg, torch.bfloat16 if cuda else torch.float32, "cuda" if cuda else "cpu")
    make_tokenizer(root / "tokenize" / "tokenizer", cfg["vocab_size"])
    samples = make_samples(a.batch * (a.steps + a.warmup) * 2, a.seq, cfg["vocab_size"])
    write_shards(root / "split" / "train", samples)
    write_plan(root / "collate", [len(s[0]) for s in samples], a.batch, a.steps + a.warmup)
    print(f"model and data ready in {time.perf_counter() - t0:.0f}s ({root})", file=sys.stderr)

    quants = ["none"] + (["nf4"] if cuda and importlib.util.find_spec("bitsandbytes") else [])
    mean_len = float(np.mean([len(s[0]) for s in samples]))
    fpt, peak = flops_per_token(cfg, mean_len), peak_flops(cuda)
    rows = []
    for quant in quants:
        for runner in (run_tunekit, run_baseline):
            if cuda:
                torch.cuda.empty_cache()
            r = runner(root, quant, a, cuda)
            r["mfu"] = r["tokensPerSecond"] * fpt / peak if peak and r.get("tokensPerSecond") else None
            rows.append(r)
    print(f"\nMistral-7B-shaped random model{'' if cuda else f' ({size})'}, seq {a.seq}, batch {a.batch}, {a.steps} timed steps, "
          f"LoRA r64 all-linear, {'bf16 on ' + torch.cuda.get_device_name(0) if cuda else 'float32 on CPU'}")
    print(f"{'implementation':<38} {'weights':<8} {'tokens/s':>10} {'peak GiB':>9} {'MFU':>6}")
    for r in rows:
        mem = f"{r['peakMemoryBytes'] / 2**30:.1f}" if r.get("peakMemoryBytes") else "-"
        mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") else "-"
        print(f"{r['impl']:<38} {'4-bit' if r['quant'] == 'nf4' else 'bf16' if cuda else 'fp32':<8} {r['tokensPerSecond']:>10.0f} {mem:>9} {mfu:>6}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"config": vars(a), "flopsPerToken": fpt, "peakFlops": peak, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
