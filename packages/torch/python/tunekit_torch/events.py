"""RunEvent JSON lines on stdout (the driver stamps the time), logs on stderr."""

from __future__ import annotations

import json
import math
import sys
import threading

_lock = threading.RLock()  # re-entrant: a signal handler may print while the main thread holds it
_rank = 0  # under torchrun (distributed.py): only rank 0 prints events; the others only errors and logs


def set_rank(rank: int) -> None:
    """This process's rank under torchrun: ranks other than 0 print no events (but errors), and
    their log lines say which rank wrote them."""
    global _rank
    _rank = rank


def emit(event: dict) -> None:
    """Prints one RunEvent (without `time`) as a JSON line; non-finite numbers become null.
    Under torchrun only rank 0's events are printed (any rank's errors are)."""
    if _rank != 0 and event.get("type") != "error":
        return

    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    line = json.dumps({k: clean(v) for k, v in event.items()}, separators=(",", ":"))
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def process_rss() -> int:
    """This process's resident set size in bytes (Linux: /proc/self/statm; elsewhere the peak, from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            import os

            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # macOS reports bytes, Linux KiB


def log(message: str) -> None:
    """A line for the worker log (stderr); the driver keeps the last lines for error reports."""
    if _rank != 0:
        message = f"[rank {_rank}] {message}"
    with _lock:
        sys.stderr.write(message.rstrip("\n") + "\n")
        sys.stderr.flush()


def info(node: str | None, message: str) -> None:
    """An `info` log event the user sees (and the log line); rank 0's alone under torchrun."""
    if _rank != 0:
        return
    log(message)
    event = {"type": "log", "level": "info", "message": message}
    if node:
        event["node"] = node
    emit(event)


def warn(node: str | None, message: str) -> None:
    """A `warn` log event: something was mapped to a weaker equivalent, never silently (rank 0's alone)."""
    if _rank != 0:
        return
    log("warning: " + message)
    event = {"type": "log", "level": "warn", "message": message}
    if node:
        event["node"] = node
    emit(event)


class WorkerError(Exception):
    """A failure the driver maps to a catalog entry: `name` is the catalog name, `detail` the reason."""

    def __init__(self, name: str, detail: str, fix: str | None = None, exit_code: int = 1, args: list | None = None):
        super().__init__(detail)
        self.args_ = args or []
        self.name = name
        self.detail = detail
        self.fix = fix
        self.exit_code = exit_code

    def to_json(self) -> dict:
        return {"type": "error", "name": self.name, "message": self.detail, "fix": self.fix, "args": self.args_}
