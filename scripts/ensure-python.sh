#!/usr/bin/env bash
# The pinned Python environment (.venv) that the torch worker's tests and the Python interop tests
# use. Does nothing when TUNEKIT_PYTHON is set or when .venv already matches its lock, so `npm test`
# calls it every time at no cost.
#
# Without an NVIDIA GPU it installs requirements-cpu.lock (every package pinned, `--no-deps`):
# torch runs on CPU without its CUDA libraries, so the first set-up downloads ~0.6 GB instead of
# ~2.6 GB. With a GPU (`nvidia-smi -L` lists one) it installs requirements.lock the usual way (torch
# pulls its CUDA libraries) and requirements-cuda.lock (bitsandbytes).
#
# Wheels are kept in a local wheelhouse ($TUNEKIT_WHEELS, default ~/.cache/tunekit-wheels) so a
# second environment installs offline: pip's HTTP cache does not persist on every machine.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${TUNEKIT_PYTHON:-}" ] && exit 0
DIR=packages/torch/python
if nvidia-smi -L 2>/dev/null | grep -q GPU; then
  LOCKS=("$DIR/requirements.lock" "$DIR/requirements-cuda.lock"); DEPS=()
else
  LOCKS=("$DIR/requirements-cpu.lock"); DEPS=(--no-deps)
fi
STAMP=.venv/.tunekit-lock
if [ -x .venv/bin/python ] && cat "${LOCKS[@]}" | cmp -s - "$STAMP"; then exit 0; fi
echo "tunekit: setting up the Python environment in .venv from ${LOCKS[*]} (once; a few minutes: ~2.4 GB of wheels, kept in the wheelhouse for the next environment)" >&2
WHEELS="${TUNEKIT_WHEELS:-$HOME/.cache/tunekit-wheels}"
mkdir -p "$WHEELS"
[ -x .venv/bin/python ] || python3 -m venv .venv
REQS=(); for l in "${LOCKS[@]}"; do REQS+=(-r "$l"); done
if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check "${DEPS[@]}" --no-index --find-links "$WHEELS" "${REQS[@]}" 2>/dev/null; then
  .venv/bin/python -m pip download --quiet --disable-pip-version-check "${DEPS[@]}" --dest "$WHEELS" "${REQS[@]}"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "${DEPS[@]}" --no-index --find-links "$WHEELS" "${REQS[@]}"
fi
cat "${LOCKS[@]}" > "$STAMP"
