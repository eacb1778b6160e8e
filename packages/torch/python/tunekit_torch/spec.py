"""The node spec the driver writes (`node.json`) and the artifact folders it points to."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .params import PARAMS_BY_KIND
from .params_base import Params, ParamsError

_KEYS = {"version", "node", "inputs", "outDir", "workDir", "device"}
_OPTIONAL = {"initialAdapter", "pairPlan", "grpoPlan", "qaPlan", "ktoExamples", "distributed"}


@dataclass
class NodeSpec:
    """One graph node to run: its params (a dataclass of params.py), its inputs' artifact folders and where to write."""

    node: str  # node id, e.g. "train"
    kind: str  # "train" | "merge" | "generate" | "eval" | "score"
    key: str  # the node's content key (checkpoints record it as recipeKey)
    params: Params  # TrainParams, MergeParams, GenerateParams, EvalParams or ScoreParams (params.py)
    inputs: dict[str, dict]  # input node id -> {"kind": ..., "dir": abs path}
    out_dir: Path
    work_dir: Path
    device: str  # "auto" | "cpu" | "cuda"
    initial_adapter: Path | None = None  # adapter folder written by the TS side (seeded)
    pair_plan: Path | None = None  # a preference stage's steps of pair indices (@tunekit/data pairPlan), written by the TS side
    grpo_plan: Path | None = None  # the grpo stage's steps of prompt indices (@tunekit/data grpoPlan), written by the TS side
    qa_plan: Path | None = None  # the qa stage's steps of window indices (qa-plan.json), written by the TS side
    kto_examples: Path | None = None  # the kto stage's examples and KL completions (kto-examples.json), written by the TS side
    distributed_strategy: str | None = None  # "ddp" | "fsdp": this process is one rank under torchrun (distributed.py)

    def input_dir(self, kind: str) -> Path | None:
        """The artifact folder of the first input of this kind (ids can differ, kinds are fixed)."""
        for entry in self.inputs.values():
            if entry["kind"] == kind:
                return Path(entry["dir"])
        return None

    def require_input(self, kind: str) -> Path:
        found = self.input_dir(kind)
        if found is None:
            from .events import WorkerError

            raise WorkerError("WorkerFailed", f"node {self.node!r} has no {kind!r} input (inputs: {sorted(self.inputs)})")
        return found


def _bad(path: str | os.PathLike, problem: str):
    from .events import WorkerError

    raise WorkerError("WorkerFailed", f"{path}: {problem} (node.json is written by @tunekit/torch of the same version as this worker)")


def read_spec(path: str | os.PathLike) -> NodeSpec:
    """Reads node.json strictly: the documented keys only, inputs as {kind, dir}, params through their dataclass."""
    raw = json.loads(Path(path).read_text())
    unknown = sorted(set(raw) - _KEYS - _OPTIONAL)
    missing = sorted(_KEYS - set(raw))
    if unknown or missing:
        _bad(path, f"unknown keys {unknown}, missing keys {missing}")
    if raw["version"] != 1:
        _bad(path, f"version {raw['version']!r}, expected 1")
    node = raw["node"]
    kind = node["kind"]
    if kind not in PARAMS_BY_KIND:
        from .events import WorkerError

        raise WorkerError("WorkerFailed", f"the torch worker does not run {kind!r} nodes (it runs {', '.join(PARAMS_BY_KIND)})")
    for node_id, entry in raw["inputs"].items():
        if not isinstance(entry, dict) or set(entry) != {"kind", "dir"}:
            _bad(path, f"input {node_id!r} is {entry!r}, expected {{'kind': ..., 'dir': ...}}")
    try:
        params = PARAMS_BY_KIND[kind].from_json(node["params"], "node.params")
    except ParamsError as e:
        _bad(path, str(e))
    init = raw.get("initialAdapter")
    pair_plan = raw.get("pairPlan")
    grpo_plan = raw.get("grpoPlan")
    qa_plan = raw.get("qaPlan")
    kto_examples = raw.get("ktoExamples")
    distributed = raw.get("distributed")
    if distributed is not None and (not isinstance(distributed, dict) or set(distributed) != {"strategy"} or distributed["strategy"] not in ("ddp", "fsdp")):
        _bad(path, f"distributed is {distributed!r}, expected {{'strategy': 'ddp' | 'fsdp'}}")
    return NodeSpec(
        node=node["id"],
        kind=kind,
        key=node["key"],
        params=params,
        inputs=raw["inputs"],
        out_dir=Path(raw["outDir"]),
        work_dir=Path(raw["workDir"]),
        device=raw["device"],
        initial_adapter=Path(init) if init else None,
        pair_plan=Path(pair_plan) if pair_plan else None,
        grpo_plan=Path(grpo_plan) if grpo_plan else None,
        qa_plan=Path(qa_plan) if qa_plan else None,
        kto_examples=Path(kto_examples) if kto_examples else None,
        distributed_strategy=distributed["strategy"] if distributed else None,
    )


def model_folder(model_artifact: Path) -> Path:
    """The Hugging Face folder of a `model` artifact: `model-ref.json` points to existing weights."""
    ref = model_artifact / "model-ref.json"
    if ref.exists():
        return Path(json.loads(ref.read_text())["path"])
    return model_artifact


def trainable_token_ids(tokenize_dir: Path) -> list[int]:
    """The embedding rows `trainableTokens` trains, as the tokenize node resolved them (its index.json)."""
    # a preference tokenize artifact holds its shard sets in pairs/ and unpaired/, each index with the ids
    found = [f for f in (tokenize_dir / "index.json", tokenize_dir / "pairs" / "index.json", tokenize_dir / "unpaired" / "index.json") if f.exists()]
    index = json.loads((found[0] if found else tokenize_dir / "index.json").read_text())
    if "trainableTokenIds" not in index:
        from .events import WorkerError

        raise WorkerError("WorkerFailed", f"{tokenize_dir}/index.json has no trainableTokenIds (written by an older tunekit)")
    return [int(i) for i in index["trainableTokenIds"]]


def write_json_atomic(path: Path, value) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2))
    os.replace(tmp, path)
