"""One training-throughput case of the torch worker, for bench/train.ts's torch rows.

  python bench/torch-train.py CASE.json     (CASE: {modelDir, batchSize, seqLen, steps, device, quantize})

Writes token shards with full-length random rows (no padding, as tfjs's rows), a batch plan of
`steps` micro-batches and a node spec, runs the worker's train node in this process and prints
one JSON line: padded tokens/s over steps 2.. (the first step warms up), peak RSS, and the bytes
torch's allocator held at peak (CUDA) or the trainable state (CPU, where torch keeps no count).
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "packages" / "torch" / "python"))


def main() -> None:
    case = json.loads(Path(sys.argv[1]).read_text())
    model_dir = Path(case["modelDir"])
    b, n, steps = int(case["batchSize"]), int(case["seqLen"]), int(case["steps"])
    vocab = json.loads((model_dir / "config.json").read_text())["vocab_size"]
    root = Path(tempfile.mkdtemp(prefix="tk-torch-bench-"))
    try:
        rng = np.random.default_rng(0)
        count = b * steps
        split = root / "split" / "train"
        split.mkdir(parents=True)
        rng.integers(0, vocab, count * n).astype("<i4").tofile(split / "ids.bin")
        mask = np.ones((count, n), "u1")
        mask[:, 0] = 0
        mask.tofile(split / "mask.bin")
        (split / "index.json").write_text(json.dumps({"format": "tunekit-shards", "version": 1, "key": "bench", "count": count,
                                                      "offsets": [i * n for i in range(count)], "lengths": [n] * count, "stats": {},
                                                      "eosId": 2, "padId": 2, "bosId": 1}))
        mbs = [{"length": n, "rows": [[{"sample": s * b + r, "start": 0, "length": n}] for r in range(b)]} for s in range(steps)]
        (root / "collate").mkdir()
        (root / "collate" / "plan.json").write_text(json.dumps({"version": 1, "seqLen": n, "microBatchSize": b, "gradientAccumulationSteps": 1,
                                                                "stepsPerEpoch": steps, "totalSteps": steps, "epochs": 1, "paddingEfficiency": 1,
                                                                "epochsPlan": [{"microBatches": mbs}], "eval": {"microBatches": []}}))
        tok = root / "tokenize" / "tokenizer"
        tok.mkdir(parents=True)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            if (model_dir / f).exists():
                shutil.copy(model_dir / f, tok / f)
        params = {
            "model": {"id": "bench", "family": "mistral", "dtype": "float32" if case.get("device", "cpu") == "cpu" else "auto",
                      **({"quantize": {"bits": 4, "type": case["quantize"], "doubleQuant": True}} if case.get("quantize") else {})},
            "lora": {"rank": 8, "alpha": 16, "dropout": 0.0, "targetModules": "all-linear", "modulesToSave": [], "trainableTokens": False, "rsLora": False},
            "args": {"learningRate": 1e-4, "lrScheduler": "constant", "optimizer": "adamw_torch", "maxGradNorm": 1.0, "seed": 0,
                     "evalEvery": "never", "saveEvery": "never", "logEvery": 1, "keepCheckpoints": 1},
        }
        spec = {"version": 1, "node": {"id": "train", "kind": "train", "key": "bench", "params": params},
                "inputs": {k: {"kind": k, "dir": str(root / k) if k != "model" else str(model_dir)} for k in ("model", "tokenize", "split", "collate")},
                "outDir": str(root / "out"), "workDir": str(root / "work"), "device": case.get("device", "cpu")}
        (root / "node.json").write_text(json.dumps(spec))

        from tunekit_torch.__main__ import main as worker

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = worker(["run", str(root / "node.json")])
        if code != 0:
            raise SystemExit(f"worker exited {code}")
        events = [json.loads(l) for l in out.getvalue().splitlines() if l.startswith("{")]
        timed = [e for e in events if e["type"] == "step"][1:]
        seconds = sum(b * n / e["tokensPerSecond"] for e in timed)  # every row is full: real = padded tokens
        import torch

        engine = next((e["message"] for e in events if e["type"] == "log" and e["message"].startswith("torch ")), "")
        cuda = torch.cuda.is_available() and case.get("device") != "cpu"
        peak_tensors = max((e.get("memoryBytes") or 0) for e in events if e["type"] == "step")
        if not cuda:
            # CPU: torch keeps no allocator count; the weights plus LoRA weights, grads and two AdamW moments
            from safetensors import safe_open
            from safetensors.torch import load_file

            weights = 0
            for file in model_dir.glob("*.safetensors"):
                with safe_open(str(file), "pt") as f:
                    weights += sum(int(np.prod(f.get_slice(k).get_shape())) for k in f.keys())

            trainable = sum(t.numel() for t in load_file(str(root / "out" / "adapter_model.safetensors")).values())
            peak_tensors = 4 * weights + 16 * trainable
        print(json.dumps({"engine": "torch-cuda" if cuda else "torch-cpu", "device": "cuda" if cuda else "cpu", "note": engine,
                          "tokensPerSecond": len(timed) * b * n / seconds, "peakTensorBytes": int(peak_tensors),
                          "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
