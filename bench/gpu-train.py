"""GPU training throughput: tunekit's torch worker against transformers Trainer + PEFT and TRL's
SFTTrainer (padding-free), side by side in one run, on a random-initialised Mistral-7B-shaped model
at sequence length 2048: bf16 LoRA r16 on every linear layer, and 4-bit NF4 QLoRA when bitsandbytes
is installed. Each of the worker's speed options (args.paddingFree, args.chunkedLoss,
args.torchCompile) is a row of its own, added one at a time, so its effect is the difference from
the row above. Prints a table (tokens/s, peak memory, MFU, and the targets as pass/fail: ≥ 1.5×
Trainer + PEFT tokens/s at ≤ 0.8× its peak memory) and writes JSON.

  python bench/gpu-train.py                      # on an H100/H200: every row, bf16 and 4-bit
  python bench/gpu-train.py --tiny               # CPU check of the whole pipeline (tiny model, a minute or two)
  python bench/gpu-train.py --small --threads 1  # CPU comparison with some compute per step

Every row trains on the same synthetic samples (OASST-like lengths, seeded), in the same batches
(the plan's micro-batches, length-grouped), with the same LoRA and optimizer. MFU counts LoRA's
model FLOPs per real token: 4·N (forward + input gradients; frozen weights get no weight gradient)
+ causal attention 6·L·d·s, against the GPU's dense bf16 peak (override with BENCH_PEAK_FLOPS).
Peak memory: torch.cuda.max_memory_allocated on a GPU; on CPU the process's peak RSS (os.wait4),
which includes the ~0.5 GB of torch itself.
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
CPU_RUNS = {"tiny": (TINY, 128, 4, 3, 1), "small": (SMALL, 256, 8, 10, 2)}
LORA = {"rank": 16, "alpha": 32, "dropout": 0.05, "targetModules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
# the worker's rows: each adds one speed option to the row before it
TUNEKIT_ROWS = [
    ("tunekit", {}),
    ("tunekit + paddingFree", {"paddingFree": True}),
    ("tunekit + paddingFree + chunkedLoss", {"paddingFree": True, "chunkedLoss": True}),
    ("tunekit + paddingFree + chunkedLoss + torchCompile", {"paddingFree": True, "chunkedLoss": True, "torchCompile": True}),
]
TARGET_SPEED, TARGET_MEMORY = 1.5, 0.8  # × Trainer + PEFT tokens/s, × its peak memory
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


def write_shards(folder: Path, samples, **index_extra) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.concatenate([s[0] for s in samples]).tofile(folder / "ids.bin")
    np.concatenate([s[1] for s in samples]).tofile(folder / "mask.bin")
    lengths = [len(s[0]) for s in samples]
    offsets = np.cumsum([0] + lengths[:-1]).tolist()
    (folder / "index.json").write_text(json.dumps({"format": "tunekit-shards", "version": 1, "key": "bench", "count": len(samples),
                                                   "offsets": offsets, "lengths": lengths, "stats": {}, "eosId": 2, "padId": 2, "bosId": 1, **index_extra}))


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


def train_params(quant: str, speed: dict, a, cuda: bool) -> dict:
    """The train node's params as `compile` writes them (every key: the worker has no defaults)."""
    quantize = {"bits": 4, "type": "nf4", "doubleQuant": True, "computeDtype": "bfloat16", "blockSize": 64}
    return {
        "model": {"id": "random/mistral-7b-shaped", "family": "mistral", "revision": "main", "dtype": "bfloat16" if cuda else "float32",
                  "gradientCheckpointing": a.gradient_checkpointing, **({"quantize": quantize} if quant == "nf4" else {})},
        "tokens": {"chatml": False, "add": [], "addBos": True},
        "method": {"kind": "lora", **LORA, "modulesToSave": [], "trainableTokens": False, "rsLora": False, "useDora": False, "init": "default"},
        "args": {"batchSize": a.batch, "gradientAccumulationSteps": 1, "epochs": 1, "learningRate": 2e-4, "lrScheduler": "constant",
                 "warmupSteps": 0, "warmupRatio": 0, "optimizer": "paged_adamw_32bit" if quant == "nf4" else "adamw_torch",
                 "weightDecay": 0.0, "adamBeta1": 0.9, "adamBeta2": 0.999, "adamEpsilon": 1e-8, "maxGradNorm": 1.0, "groupByLength": True,
                 "shuffle": True, "evalEvery": "never", "saveEvery": "never", "keepCheckpoints": 1, "seed": 0, "logEvery": 1, **speed},
        "backend": "torch", "device": "cuda" if cuda else "cpu",
    }


def run_child(cmd: list[str], env: dict | None = None, stdout=subprocess.PIPE) -> tuple[int, str, int]:
    """Runs a row's process; returns its exit code, stdout and peak RSS in bytes (Linux: ru_maxrss in KiB)."""
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=sys.stderr, text=True, env=env)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out, usage.ru_maxrss * 1024


def run_tunekit(root: Path, quant: str, label: str, speed: dict, a, cuda: bool) -> dict:
    name = "tunekit-" + quant + "".join("-" + k for k in speed)
    spec = {"version": 1, "node": {"id": "train", "kind": "train", "key": name, "params": train_params(quant, speed, a, cuda)},
            "inputs": {k: {"kind": k, "dir": str(root / k)} for k in ("model", "tokenize", "split", "collate")},
            "outDir": str(root / name / "out"), "workDir": str(root / name / "work"), "device": "cuda" if cuda else "cpu"}
    spec_file = root / f"{name}.json"
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONPATH": str(WORKER)}
    code, stdout, rss = run_child([sys.executable, "-m", "tunekit_torch", "run", str(spec_file)], env)
    if code != 0:
        raise SystemExit(f"tunekit worker ({label}) exited {code}")
    steps = [json.loads(l) for l in stdout.splitlines() if l.startswith('{"type":"step"')]
    timed = steps[a.warmup :]
    # logEvery 1: each step event's tokensPerSecond covers exactly that step; the run's rate is
    # total real tokens / total seconds, i.e. the token-weighted harmonic combination below
    plan = json.loads((root / "collate" / "plan.json").read_text())
    tokens = [sum(seg["length"] for r in mb["rows"] for seg in r) for mb in plan["epochsPlan"][0]["microBatches"]][a.warmup :]
    seconds = sum(n / e["tokensPerSecond"] for n, e in zip(tokens, timed))
    return {"impl": label, "quant": quant, "steps": len(timed), "options": speed,
            "tokensPerSecond": sum(tokens[: len(timed)]) / seconds if timed else None,
            "secondsPerStep": seconds / max(1, len(timed)),
            "losses": [e["loss"] for e in steps],
            "peakMemoryBytes": (max((e.get("memoryBytes") or 0) for e in steps) or None) if cuda else rss,
            "device": torch.cuda.get_device_name(0) if cuda else "cpu"}


def run_baseline(root: Path, quant: str, trainer: str, a, cuda: bool) -> dict:
    out = root / f"baseline-{trainer}-{quant}.json"
    cmd = [sys.executable, str(ROOT / "bench" / "gpu-baseline.py"), "--model", str(root / "model"), "--shards", str(root / "split" / "train"),
           "--steps", str(a.steps), "--warmup", str(a.warmup), "--batch", str(a.batch), "--quant", quant, "--out", str(out),
           "--rank", str(LORA["rank"]), "--alpha", str(LORA["alpha"]), "--trainer", trainer, "--tokenizer", str(root / "tokenize" / "tokenizer"),
           "--plan", str(root / "collate" / "plan.json")]  # the worker's batches, in its order: same work per step
    if a.gradient_checkpointing:
        cmd.append("--gradient-checkpointing")
    if a.tiny or a.small:
        cmd.append("--tiny")  # the baseline's CPU float32 mode
    code, _, rss = run_child(cmd, stdout=subprocess.DEVNULL)
    if code != 0:
        raise SystemExit(f"baseline {trainer} exited {code}")
    result = json.loads(out.read_text())
    if not cuda:
        result["peakMemoryBytes"] = rss
    plan = json.loads((root / "collate" / "plan.json").read_text())
    planned = [sum(r[0]["length"] for r in mb["rows"]) for mb in plan["epochsPlan"][0]["microBatches"]]
    if result.get("realTokensPerStep") != planned[: len(result.get("realTokensPerStep") or [])]:
        print(f"warning: the baseline's batches are not the plan's ({result.get('realTokensPerStep')} vs {planned} tokens)", file=sys.stderr)
    return result


def with_targets(rows: list[dict]) -> None:
    """Each row's tokens/s and peak memory as multiples of Trainer + PEFT's (same weights), and the
    targets as pass/fail."""
    for r in rows:
        ref = next((b for b in rows if b["quant"] == r["quant"] and b["impl"] == "transformers Trainer + PEFT"), None)
        if ref is None or not r.get("tokensPerSecond") or not ref.get("tokensPerSecond"):
            continue
        r["speedup"] = r["tokensPerSecond"] / ref["tokensPerSecond"]
        r["memoryRatio"] = r["peakMemoryBytes"] / ref["peakMemoryBytes"] if r.get("peakMemoryBytes") and ref.get("peakMemoryBytes") else None
        r["speedTarget"] = r["speedup"] >= TARGET_SPEED
        r["memoryTarget"] = r["memoryRatio"] is not None and r["memoryRatio"] <= TARGET_MEMORY


def print_table(rows: list[dict], a, cuda: bool, size: str) -> None:
    print(f"\nMistral-7B-shaped random model{'' if cuda else f' ({size})'}, seq {a.seq}, batch {a.batch}, {a.steps} timed steps, "
          f"LoRA r{LORA['rank']} all-linear, {'bf16 on ' + torch.cuda.get_device_name(0) if cuda else 'float32 on CPU'}")
    mem_name = "peak GiB" if cuda else "peak RSS GiB"
    print(f"| implementation | weights | tokens/s | {mem_name} | MFU | × Trainer tok/s | × Trainer memory | ≥ {TARGET_SPEED}× speed | ≤ {TARGET_MEMORY}× memory |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        mem = f"{r['peakMemoryBytes'] / 2**30:.2f}" if r.get("peakMemoryBytes") else "-"
        mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") else "-"
        speedup = f"{r['speedup']:.2f}" if r.get("speedup") else "-"
        ratio = f"{r['memoryRatio']:.2f}" if r.get("memoryRatio") else "-"
        passed = lambda key: "-" if key not in r else "pass" if r[key] else "fail"
        weights = "4-bit" if r["quant"] == "nf4" else "bf16" if cuda else "fp32"
        print(f"| {r['impl']} | {weights} | {r['tokensPerSecond']:.0f} | {mem} | {mfu} | {speedup} | {ratio} | {passed('speedTarget')} | {passed('memoryTarget')} |")


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
    ap.add_argument("--seq", type=int, help="longest sample (default 2048)")
    ap.add_argument("--batch", type=int, help="default 8")
    ap.add_argument("--steps", type=int, help="timed steps (default 10)")
    ap.add_argument("--warmup", type=int, help="untimed first steps (default 3)")
    # on by default, as in the QLoRA recipes: 8 × 2048 tokens of 7B activations do not fit 80 GB without it
    ap.add_argument("--gradient-checkpointing", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--rows", help="comma-separated rows to run: 0-3 (the worker's rows), hf, trl; default all")
    ap.add_argument("--dir", default=str(ROOT / "bench" / "results" / "gpu-train"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "gpu-train.json"))
    a = ap.parse_args()
    size = "tiny" if a.tiny else "small" if a.small else "mistral-7b"
    cfg, *defaults = CPU_RUNS.get(size, (MISTRAL_7B, 2048, 8, 10, 3))
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
    write_shards(root / "tokenize", samples, trainableTokenIds=[])  # the tokenize artifact: no added tokens
    write_plan(root / "collate", [len(s[0]) for s in samples], a.batch, a.steps + a.warmup)
    print(f"model and data ready in {time.perf_counter() - t0:.0f}s ({root})", file=sys.stderr)

    quants = ["none"] + (["nf4"] if cuda and importlib.util.find_spec("bitsandbytes") else [])
    mean_len = float(np.mean([len(s[0]) for s in samples]))
    fpt, peak = flops_per_token(cfg, mean_len), peak_flops(cuda)
    wanted = set(a.rows.split(",")) if a.rows else None
    runners = [(str(i), label, lambda root, q, label=label, speed=speed: run_tunekit(root, q, label, speed, a, cuda))
               for i, (label, speed) in enumerate(TUNEKIT_ROWS)]
    runners += [("hf", "transformers Trainer + PEFT", lambda root, q: run_baseline(root, q, "hf", a, cuda))]
    if importlib.util.find_spec("trl"):
        runners += [("trl", "TRL SFTTrainer (padding-free)", lambda root, q: run_baseline(root, q, "trl", a, cuda))]
    else:
        print("trl is not installed: no SFTTrainer row", file=sys.stderr)
    rows = []
    for quant in quants:
        for key, label, runner in runners:
            if wanted is not None and key not in wanted:
                continue
            if cuda:
                torch.cuda.empty_cache()
            t = time.perf_counter()
            r = runner(root, quant)
            r["wallSeconds"] = time.perf_counter() - t
            print(f"{label} ({quant}): {r['tokensPerSecond']:.0f} tokens/s, {r['wallSeconds']:.0f}s", file=sys.stderr)
            r["mfu"] = r["tokensPerSecond"] * fpt / peak if peak and r.get("tokensPerSecond") else None
            rows.append(r)
    with_targets(rows)
    print_table(rows, a, cuda, size)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"config": vars(a), "flopsPerToken": fpt, "peakFlops": peak, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
