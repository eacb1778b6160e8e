"""args.torchCompile on CPU (inductor, through g++): a compiled run's step losses and adapter equal
the uncompiled run's within 1e-5.

Not in `npm test` (tests/ is): inductor compiles the tiny model's forward and backward in 1–2.5
minutes on this 2-core machine (once per shape, then once more with dynamic shapes), more than the
CI budget of a test file. Run it by hand:

  cd packages/torch/python && $TUNEKIT_PYTHON -m pytest -q tests-slow/test_compile.py
"""

import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import Fixture, train_params  # noqa: E402
from worker import run_worker  # noqa: E402


def test_compiled_steps_equal_uncompiled(tmp_path):
    # 3 steps of 2-row micro-batches, no eval (a switch to eval mode would compile again)
    fx = Fixture(tmp_path, epochs=1, max_steps=3)
    runs = {}
    for name, extra in (("plain", {}), ("compiled", {"torchCompile": True})):
        _, events, log = run_worker("run", str(fx.spec(name, params=train_params(evalEvery="never", epochs=1, **extra))))
        runs[name] = ([e["loss"] for e in events if e["type"] == "step"], load_file(str(fx.root / name / "out" / "adapter_model.safetensors")), log)
    (plain, a, _), (compiled, b, log) = runs["plain"], runs["compiled"]
    assert "torch.compile (inductor)" in log and len(plain) == len(compiled) == 3
    torch.testing.assert_close(torch.tensor(compiled), torch.tensor(plain), rtol=1e-5, atol=1e-6)
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-5, msg=lambda m: f"{k}: {m}")
