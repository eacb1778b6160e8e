"""The generated params dataclasses read node.json strictly: the worker never guesses a default."""

import json

import pytest

from conftest import train_params
from tunekit_torch.params import TrainParams
from tunekit_torch.params_base import ParamsError


def test_round_trip_keeps_the_json_names():
    params = train_params()
    assert TrainParams.from_json(params.to_json()) == params
    assert params.to_json()["args"]["learningRate"] == 1e-2 and params.args.learning_rate == 1e-2


def test_unknown_missing_and_mistyped_keys_are_errors():
    raw = train_params().to_json()
    with pytest.raises(ParamsError, match=r"params.args: unknown key\(s\) \['learning_rate'\]"):
        TrainParams.from_json({**raw, "args": {**raw["args"], "learning_rate": 1}})
    args = dict(raw["args"])
    del args["seed"]
    with pytest.raises(ParamsError, match=r"params.args.seed: missing"):
        TrainParams.from_json({**raw, "args": args})
    with pytest.raises(ParamsError, match=r"params.method.rank: expected int, got '4'"):
        TrainParams.from_json({**raw, "method": {**raw["method"], "rank": "4"}})
    with pytest.raises(ParamsError, match=r"params.method"):
        TrainParams.from_json({**raw, "method": {**raw["method"], "kind": "dora"}})


def test_read_spec_refuses_a_spec_in_another_shape(fixture, tmp_path):
    from tunekit_torch.events import WorkerError
    from tunekit_torch.spec import read_spec

    path = fixture.spec("s")
    spec = json.loads(path.read_text())
    assert read_spec(path).params == train_params()
    spec["inputs"]["model"] = str(fixture.model)  # a plain folder instead of {kind, dir}
    path.write_text(json.dumps(spec))
    with pytest.raises(WorkerError, match="input 'model'"):
        read_spec(path)
