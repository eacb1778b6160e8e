"""`python -m tunekit_torch run node.json | probe | complete request.json | logits request.json | rewards request.json | serve`.

`serve` keeps one process (and its ~5 s of torch / transformers / PEFT imports) for every node and
request of a run: each line on stdin is a request, answered by the events that command prints and
then a `worker-done` event with the exit code the command would have had."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from . import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .events import WorkerError, emit, log

# serve's last stderr line of each request
DONE_MARK = "tunekit-worker-done"
USAGE = "usage: python -m tunekit_torch run NODE.json | probe | complete REQUEST.json | logits REQUEST.json | rewards REQUEST.json | serve"


def run_node(path: str) -> None:
    from .spec import read_spec

    spec = read_spec(path)  # a kind without a params class is refused there
    if spec.kind == "train" and spec.params.objective is not None and spec.params.objective.kind == "ppo":
        from .train_ppo import run_train_ppo as runner
    elif spec.kind == "train" and spec.params.objective is not None and spec.params.objective.kind == "grpo":
        from .train_grpo import run_train_grpo as runner
    elif spec.kind == "train" and spec.params.objective is not None:
        from .train_dpo import run_train_dpo as runner
    elif spec.kind == "train":
        from .train import run_train as runner
    elif spec.kind == "qa-train":
        from .qa_train import run_qa_train as runner
    elif spec.kind == "ref-logprobs":
        from .ref_logprobs import run_ref_logprobs as runner
    elif spec.kind == "merge":
        from .merge import run_merge as runner
    elif spec.kind == "generate":
        from .generate import run_generate as runner
    elif spec.kind == "score":
        from .generate import run_score as runner
    else:
        from .evaluate import run_eval as runner
    runner(spec)


def command_code(command: str, file: str | None) -> int:
    """Runs one command to its exit code: the catalog failures as an error event, a bug or an
    environment problem with its trace in the log, an interrupt (after its checkpoint) as 75."""
    try:
        if command == "run" and file:
            run_node(file)
        elif command == "probe" and file is None:
            from .probe import probe

            print(json.dumps(probe()), flush=True)
        elif command in ("logits", "rewards", "complete") and file:
            if command == "logits":
                from .logits import run_logits as runner
            elif command == "rewards":
                from .rewards import run_rewards as runner
            else:
                from .generate import run_complete as runner
            with open(file) as f:
                request = json.load(f)
            # complete: a prompt's pixels.bin lies beside request.json
            runner(request, Path(file).parent) if command == "complete" else runner(request)
        else:
            log(USAGE)
            return EXIT_USAGE
    except WorkerError as e:
        log(f"{e.name}: {e.detail}")
        emit(e.to_json())
        return e.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except SystemExit as e:  # a training loop stopped by a signal exits 75 after its checkpoint
        return e.code if isinstance(e.code, int) else EXIT_FAILED
    except Exception as e:  # a bug or an environment problem: full trace in the log for the driver
        log(traceback.format_exc())
        emit({"type": "error", "name": "WorkerFailed", "message": f"{type(e).__name__}: {e}", "fix": None})
        return EXIT_FAILED
    return EXIT_OK


def release_memory() -> None:
    """What one request held (models, optimiser state, CUDA's cached blocks) goes before the next."""
    import gc

    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def serve() -> int:
    """Requests as JSON lines on stdin (`{"command": "run", "file": "node.json"}`; `file` null for
    probe), one at a time; ends at EOF. An interrupted request ends the process too (75), as it
    would have ended a process of its own: the driver starts a fresh one for what follows."""
    import signal

    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            # a training loop's handlers (finish the step, checkpoint) are its own: the next
            # command gets Python's defaults back
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = command_code(request["command"], request.get("file"))
            release_memory()
            emit({"type": "worker-done", "code": code})
            log(DONE_MARK)  # the log's end too: the driver reads stdout and stderr apart
            if code == EXIT_INTERRUPTED:
                return code
    except KeyboardInterrupt:  # Ctrl-C in the terminal while waiting for a request
        return EXIT_INTERRUPTED
    return EXIT_OK


def main(argv: list[str]) -> int:
    import warnings

    # Library chatter that says nothing to a tunekit user (the worker sets these names itself).
    warnings.filterwarnings("ignore", message=".*base_model_name_or_path.*")
    warnings.filterwarnings("ignore", category=FutureWarning)
    if argv == ["serve"]:
        return serve()
    if len(argv) not in (1, 2):
        log(USAGE)
        return EXIT_USAGE
    return command_code(argv[0], argv[1] if len(argv) == 2 else None)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def cli() -> None:
    """Console script entry point (`tunekit-torch run node.json`)."""
    sys.exit(main(sys.argv[1:]))
