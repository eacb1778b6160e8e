#!/usr/bin/env bash
# The pinned Python environment (.venv) that the torch worker's tests and the Python interop tests
# use, made from packages/torch/python/requirements.lock. Does nothing when TUNEKIT_PYTHON is set or
# when .venv already matches the lock, so `npm test` calls it every time at no cost.
#
# Wheels are kept in a local wheelhouse ($TUNEKIT_WHEELS, default ~/.cache/tunekit-wheels) so a
# second environment installs offline: pip's HTTP cache does not persist on every machine.
# torch from PyPI is the CUDA build; it runs on CPU as well.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${TUNEKIT_PYTHON:-}" ] && exit 0
LOCK=packages/torch/python/requirements.lock
STAMP=.venv/.tunekit-lock
if [ -x .venv/bin/python ] && cmp -s "$LOCK" "$STAMP"; then exit 0; fi
echo "tunekit: setting up the Python environment in .venv from $LOCK (once; a few minutes)" >&2
WHEELS="${TUNEKIT_WHEELS:-$HOME/.cache/tunekit-wheels}"
mkdir -p "$WHEELS"
[ -x .venv/bin/python ] || python3 -m venv .venv
if ! .venv/bin/python -m pip install --quiet --no-index --find-links "$WHEELS" -r "$LOCK" 2>/dev/null; then
  .venv/bin/python -m pip download --quiet --dest "$WHEELS" -r "$LOCK"
  .venv/bin/python -m pip install --quiet --no-index --find-links "$WHEELS" -r "$LOCK"
fi
cp "$LOCK" "$STAMP"
