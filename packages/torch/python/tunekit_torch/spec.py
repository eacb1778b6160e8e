"""The node spec the driver writes (`node.json`) and the artifact folders it points to."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class NodeSpec:
    """One graph node to run: its params, its inputs' artifact folders and where to write."""

    node: str  # node id, e.g. "train"
    kind: str  # "train" | "merge" | "generate" | "eval"
    key: str  # the node's content key (checkpoints record it as recipeKey)
    params: dict
    inputs: dict[str, dict]  # input node id -> {"kind": ..., "dir": abs path}
    out_dir: Path
    work_dir: Path
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    initial_adapter: Path | None = None  # adapter folder written by the TS side (seeded)
    extra: dict = field(default_factory=dict)

    def input_dir(self, kind: str) -> Path | None:
        """The artifact folder of the first input of this kind (ids can differ, kinds are fixed)."""
        for node_id, entry in self.inputs.items():
            if entry.get("kind", node_id) == kind:
                return Path(entry["dir"])
        return None

    def require_input(self, kind: str) -> Path:
        found = self.input_dir(kind)
        if found is None:
            from .events import WorkerError

            raise WorkerError("WorkerFailed", f"node {self.node!r} has no {kind!r} input (inputs: {sorted(self.inputs)})")
        return found


def read_spec(path: str | os.PathLike) -> NodeSpec:
    raw = json.loads(Path(path).read_text())
    node = raw["node"]
    inputs = raw.get("inputs", {})
    # Inputs may be given as plain folders: {"model": "/abs"}.
    inputs = {k: (v if isinstance(v, dict) else {"kind": k, "dir": v}) for k, v in inputs.items()}
    init = raw.get("initialAdapter")
    return NodeSpec(
        node=node["id"],
        kind=node["kind"],
        key=node.get("key", ""),
        params=node.get("params", {}),
        inputs=inputs,
        out_dir=Path(raw["outDir"]),
        work_dir=Path(raw.get("workDir") or raw["outDir"]),
        device=raw.get("device", "auto"),
        initial_adapter=Path(init) if init else None,
        extra={k: v for k, v in raw.items() if k not in {"node", "inputs", "outDir", "workDir", "device", "initialAdapter"}},
    )


def model_folder(model_artifact: Path) -> Path:
    """The Hugging Face folder of a `model` artifact: `model-ref.json` points to existing weights."""
    ref = model_artifact / "model-ref.json"
    if ref.exists():
        return Path(json.loads(ref.read_text())["path"])
    return model_artifact


def write_json_atomic(path: Path, value) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2))
    os.replace(tmp, path)
