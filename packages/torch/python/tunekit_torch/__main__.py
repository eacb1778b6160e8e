"""`python -m tunekit_torch run node.json | probe | complete request.json | logits request.json | rewards request.json`."""

from __future__ import annotations

import json
import sys
import traceback

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .events import WorkerError, emit, log

USAGE = "usage: python -m tunekit_torch run NODE.json | probe | complete REQUEST.json | logits REQUEST.json | rewards REQUEST.json"


def run_node(path: str) -> None:
    from .spec import read_spec

    spec = read_spec(path)  # a kind without a params class is refused there
    if spec.kind == "train" and spec.params.objective is not None:
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


def main(argv: list[str]) -> int:
    import warnings

    # Library chatter that says nothing to a tunekit user (the worker sets these names itself).
    warnings.filterwarnings("ignore", message=".*base_model_name_or_path.*")
    warnings.filterwarnings("ignore", category=FutureWarning)
    if not argv:
        log(USAGE)
        return EXIT_USAGE
    command = argv[0]
    try:
        if command == "run" and len(argv) == 2:
            run_node(argv[1])
        elif command == "probe":
            from .probe import probe

            print(json.dumps(probe()), flush=True)
        elif command == "logits" and len(argv) == 2:
            from .logits import run_logits

            with open(argv[1]) as f:
                run_logits(json.load(f))
        elif command == "rewards" and len(argv) == 2:
            from .rewards import run_rewards

            with open(argv[1]) as f:
                run_rewards(json.load(f))
        elif command == "complete" and len(argv) == 2:
            from .generate import run_complete

            with open(argv[1]) as f:
                run_complete(json.load(f))
        else:
            log(USAGE)
            return EXIT_USAGE
    except WorkerError as e:
        log(f"{e.name}: {e.detail}")
        emit(e.to_json())
        return e.exit_code
    except KeyboardInterrupt:
        from . import EXIT_INTERRUPTED

        return EXIT_INTERRUPTED
    except Exception as e:  # a bug or an environment problem: full trace in the log for the driver
        log(traceback.format_exc())
        emit({"type": "error", "name": "WorkerFailed", "message": f"{type(e).__name__}: {e}", "fix": None})
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def cli() -> None:
    """Console script entry point (`tunekit-torch run node.json`)."""
    sys.exit(main(sys.argv[1:]))
