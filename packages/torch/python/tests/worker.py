"""Runs the worker's command line in this process (imports are paid once per test session);
events are read back from stdout as the driver reads them."""

from __future__ import annotations

import contextlib
import io
import json
import os

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def run_worker(*argv: str, check: bool = True) -> tuple[int, list[dict], str]:
    from tunekit_torch.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as e:
            code = int(e.code or 0)
    events = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    if check and code != 0:
        raise AssertionError(f"worker exited {code}\n{err.getvalue()[-3000:]}")
    return code, events, err.getvalue()
