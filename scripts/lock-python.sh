#!/usr/bin/env bash
# Rewrites packages/torch/python/requirements-cpu.lock from requirements.lock: pip resolves the pins
# (a dry run, nothing installed) and every package it would install is written with its version,
# less those a CPU never loads (triton, cuda-bindings, cuda-pathfinder). Run after editing the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=packages/torch/python
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --dry-run --ignore-installed --report "$work/report.json" -r "$DIR/requirements.lock"
"$work/venv/bin/python" - "$work/report.json" "$DIR/requirements-cpu.lock" <<'PY'
import json, sys
skip = {"triton", "cuda-bindings", "cuda-pathfinder"}
rows = sorted((i["metadata"]["name"].lower().replace("_", "-").replace(".", "-"), i["metadata"]["version"]) for i in json.load(open(sys.argv[1]))["install"])
head = """# The whole environment for a machine without an NVIDIA GPU, every package pinned (requirements.lock's
# pins and all they pull in), installed with `pip install --no-deps`. The x86_64 torch wheel on PyPI
# links its CUDA libraries (nvidia-*), so they stay even on CPU (torch's CPU-only build is not on
# PyPI); left out are the packages a CPU never loads: triton (torch.compile's GPU code generator)
# and cuda-bindings. Regenerate after changing requirements.lock: scripts/lock-python.sh.
"""
open(sys.argv[2], "w").write(head + "".join(f"{n}=={v}\n" for n, v in rows if n not in skip))
PY
echo "wrote $DIR/requirements-cpu.lock"
