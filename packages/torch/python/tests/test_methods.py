"""full and freeze on the worker: what trains, what the artifact holds, merge, resume."""

import json
import shutil

import torch
from safetensors.torch import load_file

from conftest import Fixture, merge_params, merged_metadata, train_params
from tunekit_torch.params import TrainParams
from worker import run_worker


def method_params(method: dict, **args) -> TrainParams:
    return TrainParams.from_json({**train_params(**args).to_json(), "method": method})


FREEZE = {"kind": "freeze", "trainableLayers": 1, "trainableModules": ["mlp"], "extraModules": ["norm"]}


def test_freeze_trains_only_the_named_tensors_and_merge_keeps_the_rest(tmp_path):
    from transformers import AutoModelForCausalLM

    fx = Fixture(tmp_path)
    _, events, _ = run_worker("run", str(fx.spec("fz", params=method_params(FREEZE))))
    out = fx.root / "fz" / "out"
    marker = json.loads((out / "tunekit_method.json").read_text())
    trained = load_file(str(out / "trained_tensors.safetensors"))
    # the last layer's mlp and the final norm, by hand (LLaMA-Factory's freeze rule)
    expect = {"model.layers.1.mlp.gate_proj.weight", "model.layers.1.mlp.up_proj.weight", "model.layers.1.mlp.down_proj.weight", "model.norm.weight"}
    assert set(trained) == expect and marker["kind"] == "freeze" and set(marker["tensors"]) == expect
    base = load_file(str(fx.model / "model.safetensors"))
    assert all(not torch.equal(trained[k], base[k]) for k in expect)
    count = next(e for e in events if e["type"] == "log" and "trainable of" in e["message"])["message"]
    assert f"{sum(t.numel() for t in trained.values()):,} trainable of" in count

    merge = fx.spec("fzm", kind="merge", params=merge_params(), extra_inputs={"train": out})
    run_worker("run", str(merge))
    merged_metadata(fx, fx.root / "fzm" / "out")
    merged = AutoModelForCausalLM.from_pretrained(str(fx.root / "fzm" / "out"), dtype=torch.float32).state_dict()
    for name, t in base.items():
        assert torch.equal(merged[name], trained.get(name, t)), name  # frozen tensors bit-identical, trained ones replaced


def test_full_artifact_is_a_model_folder_and_resumes(tmp_path):
    from transformers import AutoModelForCausalLM

    fx = Fixture(tmp_path)
    run_worker("run", str(fx.spec("fu", params=method_params({"kind": "full"}, saveEvery=3, learningRate=1e-3))))
    out = fx.root / "fu" / "out"
    model = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32)
    weights = load_file(str(out / "model.safetensors"))
    assert all(torch.equal(p, weights[n]) for n, p in model.named_parameters())
    assert sum(p.numel() for p in model.parameters()) == sum(t.numel() for t in weights.values())
    losses = json.loads((out / "trainer_state.json").read_text())["lossHistory"]

    # resume from checkpoint-3 in a fresh work folder: the same losses
    fresh = fx.root / "fu2" / "work"
    fresh.mkdir(parents=True)
    shutil.copytree(fx.root / "fu" / "work" / "checkpoint-3", fresh / "checkpoint-3")
    assert set(load_file(str(fresh / "checkpoint-3" / "optimizer.safetensors"))) == {f"{n}.{m}" for n in weights for m in ("exp_avg", "exp_avg_sq")}
    spec = json.loads(fx.spec("fu", params=method_params({"kind": "full"}, saveEvery=3, learningRate=1e-3)).read_text())
    spec.update(outDir=str(fx.root / "fu2" / "out"), workDir=str(fresh))
    (fx.root / "fu2.json").write_text(json.dumps(spec))
    _, events, _ = run_worker("run", str(fx.root / "fu2.json"))
    assert [e["step"] for e in events if e["type"] == "step"][0] == 4
    resumed = json.loads((fx.root / "fu2" / "out" / "trainer_state.json").read_text())["lossHistory"]
    assert resumed == losses
