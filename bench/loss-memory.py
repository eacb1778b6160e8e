"""Peak memory of the loss over a 32k vocabulary: the plain path (the whole logits, as the worker's
token_loss_sum computes them without args.chunkedLoss) against tunekit's chunked cross-entropy
(tunekit_torch/chunked_loss.py), forward and backward, on CPU.

  python bench/loss-memory.py [--tokens 4096] [--hidden 1024] [--vocab 32000]

Each variant runs in its own process; the figure is that process's peak RSS (os.wait4) minus the
RSS after its inputs were allocated, so torch's own ~0.4 GB and the inputs cancel out. Prints a
table and checks that both give the same loss and gradients (within 1e-5 relative).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).resolve().parents[1] / "packages" / "torch" / "python"


def child(variant: str, tokens: int, hidden: int, vocab: int) -> None:
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, str(WORKER))
    from tunekit_torch.chunked_loss import CHUNK_TOKENS, ChunkedLinearCrossEntropy

    torch.manual_seed(0)
    torch.set_num_threads(1)
    h = torch.randn(tokens, hidden).requires_grad_()
    w = 0.02 * torch.randn(vocab, hidden)  # a frozen lm_head, as under LoRA
    y = torch.randint(0, vocab, (tokens,))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if variant == "plain":
        logits = (h @ w.T).float()  # [tokens, vocab]
        loss = F.cross_entropy(logits, y, reduction="sum")
    else:
        loss = ChunkedLinearCrossEntropy.apply(h, w, None, y, None, CHUNK_TOKENS)
    loss.backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"loss": float(loss.detach()), "gradNorm": float(h.grad.norm()), "gradSum": float(h.grad.double().sum()),
                      "baseBytes": base, "peakBytes": peak}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=4096, help="labelled tokens of one micro-batch (e.g. 4 × 1024)")
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--child")
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.tokens, a.hidden, a.vocab)
    rows = {}
    for variant in ("plain", "chunked"):
        proc = subprocess.Popen([sys.executable, __file__, "--child", variant, "--tokens", str(a.tokens), "--hidden", str(a.hidden),
                                 "--vocab", str(a.vocab)], stdout=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{variant} failed")
        rows[variant] = json.loads(out)
    plain, chunked = rows["plain"], rows["chunked"]
    logits_mb = a.tokens * a.vocab * 4 / 2**20
    print(f"loss over {a.tokens} tokens × vocab {a.vocab} (hidden {a.hidden}), float32, CPU; one [tokens × vocab] float32 tensor = {logits_mb:.0f} MiB")
    print("| loss | peak RSS above the inputs (MiB) | loss value | ‖∂loss/∂hidden‖ |")
    print("|---|---|---|---|")
    for name, r in (("plain (whole logits)", plain), ("chunked (tunekit)", chunked)):
        print(f"| {name} | {(r['peakBytes'] - r['baseBytes']) / 2**20:.0f} | {r['loss']:.6f} | {r['gradNorm']:.6f} |")
    for key in ("loss", "gradNorm", "gradSum"):
        if abs(plain[key] - chunked[key]) > 1e-5 * max(1.0, abs(plain[key])):
            raise SystemExit(f"{key} differs: {plain[key]} vs {chunked[key]}")


if __name__ == "__main__":
    main()
