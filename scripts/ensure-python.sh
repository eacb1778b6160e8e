#!/usr/bin/env bash
# The pinned Python environments the tests use, each built once from its lock and then left alone
# while it matches (a stamp holds the lock it was built from), so `npm test` calls this every time
# at no cost:
#
#   .venv            the torch worker's stack (packages/torch/python/*.lock). Skipped when
#                    TUNEKIT_PYTHON is set. Without an NVIDIA GPU it installs requirements-cpu.lock
#                    (every package pinned, `--no-deps`, no triton). The x86_64 torch wheel on PyPI
#                    links its CUDA libraries even on CPU, so the first set-up downloads ~2.4 GB
#                    (2.6 GB with a GPU, where requirements.lock + requirements-cuda.lock install
#                    the usual way). Skipped when TUNEKIT_PYTHON is set.
#   .venv-reference  the reference implementations tests compare with (test/reference/requirements.lock:
#                    sacrebleu, rouge-score, gguf, tensorboard, the SQuAD scripts that allennlp and
#                    allennlp-models ship; ~38 MB). Skipped when
#                    TUNEKIT_REFERENCE_PYTHON is set.
#   .venv-compat     an old transformers / PEFT / tokenizers stack (test/compat/requirements.lock,
#                    ~34 MB of wheels) that the compatibility matrix loads tunekit's artifacts in.
#                    Its torch is the worker stack's, seen through a .pth file (see ensure_compat).
#                    Skipped when TUNEKIT_COMPAT_PYTHON is set.
#   .venv-trl        TRL 1.16.0 and what it needs beyond the worker stack (test/trl/requirements.lock:
#                    datasets, pandas, pyarrow, …; ~67 MB of wheels, ~300 MB installed), the oracle of
#                    the preference stages' parity tests; torch, transformers and PEFT are the worker
#                    stack's, through a .pth file as for .venv-compat. Skipped when TUNEKIT_TRL_PYTHON is set.
#                    Beside it, .venv-trl/trl-0.29.1: TRL 0.29.1's wheel unpacked (PPOTrainer's oracle; below).
#   .venv-bnb        bitsandbytes 0.50.2 and galore-torch 1.0 over the worker stack (test/bnb/requirements.lock:
#                    one 43 MB wheel, ~130 MB installed), the oracle of LoftQ's quantiser and the optimiser
#                    of the torch backend's args.galore; torch, transformers and PEFT through a .pth file as
#                    for .venv-compat. Skipped when TUNEKIT_BNB_PYTHON is set.
#
# Wheels are kept in a local wheelhouse ($TUNEKIT_WHEELS, default ~/.cache/tunekit-wheels) so a
# second environment installs offline: pip's HTTP cache does not persist on every machine. Packages
# published only as source are built into wheels there once.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS="${TUNEKIT_WHEELS:-$HOME/.cache/tunekit-wheels}"

# ensure_venv DIR NO_DEPS LOCK...: DIR built from the LOCKs (NO_DEPS=1: pip --no-deps, the lock is complete).
ensure_venv() {
  local dir=$1 nodeps=$2; shift 2
  local stamp="$dir/.tunekit-lock" deps=() reqs=()
  [ "$nodeps" = 1 ] && deps=(--no-deps)
  for l in "$@"; do reqs+=(-r "$l"); done
  if [ -x "$dir/bin/python" ] && cat "$@" | cmp -s - "$stamp"; then return 0; fi
  echo "tunekit: setting up the Python environment in $dir from $* (once; wheels are kept in $WHEELS)" >&2
  mkdir -p "$WHEELS"
  [ -x "$dir/bin/python" ] || python3 -m venv "$dir"
  local pip=("$dir/bin/python" -m pip --disable-pip-version-check)
  if ! "${pip[@]}" install --quiet "${deps[@]}" --no-index --find-links "$WHEELS" "${reqs[@]}" 2>/dev/null; then
    "${pip[@]}" download --quiet "${deps[@]}" --dest "$WHEELS" "${reqs[@]}"
    # sdists (rouge-score) become wheels once, so the next environment installs offline
    for sdist in "$WHEELS"/*.tar.gz; do
      [ -e "$sdist" ] || continue
      "${pip[@]}" wheel --quiet --no-deps --wheel-dir "$WHEELS" "$sdist" && rm -f "$sdist"
    done
    "${pip[@]}" install --quiet "${deps[@]}" --no-index --find-links "$WHEELS" "${reqs[@]}"
  fi
  cat "$@" > "$stamp"
}

if [ -z "${TUNEKIT_PYTHON:-}" ]; then
  DIR=packages/torch/python
  if nvidia-smi -L 2>/dev/null | grep -q GPU; then
    ensure_venv .venv 0 "$DIR/requirements.lock" "$DIR/requirements-cuda.lock"
  else
    ensure_venv .venv 1 "$DIR/requirements-cpu.lock"
  fi
fi
if [ -z "${TUNEKIT_REFERENCE_PYTHON:-}" ]; then
  ensure_venv .venv-reference 1 test/reference/requirements.lock
fi

# ensure_overlay DIR LOCK: DIR built from LOCK (--no-deps), and whatever the lock lacks (torch,
# transformers, …) from the worker stack. For .venv-compat (test/compat/requirements.lock):
# Why not torch's wheel again: it and the nvidia-* wheels it links unpack to 4.0 GB (measured:
# 47 s of CPU, 49 s wall, from the wheelhouse), against 230 MB and ~21 s of CPU for this whole
# environment with the .pth (+ ~19 s to download its 34 MB of wheels the first time). A .pth file's
# folder is appended to sys.path after the environment's own site-packages, so every package of the
# lock shadows the worker stack's newer copy and only what the lock lacks (torch, sympy, networkx,
# nvidia-*) comes from there. The stamp holds that folder too: a worker stack moved elsewhere
# rebuilds the link.
ensure_overlay() {
  local dir=$1 lock=$2 worker=${TUNEKIT_PYTHON:-$PWD/.venv/bin/python} site
  site=$("$worker" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')  # where its torch is
  local stamp="$dir/.tunekit-lock" want
  want="$(cat "$lock"; echo "torch from $site")"
  if [ -x "$dir/bin/python" ] && [ "$want" = "$(cat "$stamp" 2>/dev/null)" ]; then return 0; fi
  # the worker stack's interpreter, so torch's compiled modules load in it
  [ -x "$dir/bin/python" ] || "$worker" -m venv "$dir"
  ensure_venv "$dir" 1 "$lock"
  local own
  own=$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$site" > "$own/zz-tunekit-worker-torch.pth"
  echo "$want" > "$stamp"
}
if [ -z "${TUNEKIT_COMPAT_PYTHON:-}" ]; then
  ensure_overlay .venv-compat test/compat/requirements.lock
fi
if [ -z "${TUNEKIT_TRL_PYTHON:-}" ]; then
  ensure_overlay .venv-trl test/trl/requirements.lock
fi
if [ -z "${TUNEKIT_BNB_PYTHON:-}" ]; then
  ensure_overlay .venv-bnb test/bnb/requirements.lock
fi

# TRL 0.29.1, the last TRL with PPOTrainer (the ppo stage's oracle, test/trl/ppo_reference.py): its wheel
# (~0.5 MB, pure Python) unpacked into .venv-trl/trl-0.29.1, not installed: the reference puts it first
# on PYTHONPATH of a .venv-trl process, where it imports against the same torch / transformers / PEFT.
# Skipped when TUNEKIT_TRL029 names an unpacked copy.
if [ -z "${TUNEKIT_TRL029:-}" ] && [ ! -f .venv-trl/trl-0.29.1/trl/experimental/ppo/ppo_trainer.py ]; then
  mkdir -p "$WHEELS" .venv-trl
  wheel="$WHEELS/trl-0.29.1-py3-none-any.whl"
  [ -f "$wheel" ] || python3 -m pip --disable-pip-version-check download --quiet --no-deps --dest "$WHEELS" trl==0.29.1
  rm -rf .venv-trl/trl-0.29.1.partial
  python3 -m zipfile -e "$wheel" .venv-trl/trl-0.29.1.partial && mv .venv-trl/trl-0.29.1.partial .venv-trl/trl-0.29.1
fi
