import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from conftest import Fixture, driver_metadata, eval_params, generate_params, merge_params, merged_metadata, train_params
from tunekit_torch.params import TrainParams
from worker import run_worker


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One uninterrupted run: 2 epochs of 4 micro-batches, checkpoints every 3 steps."""
    fx = Fixture(tmp_path_factory.mktemp("trained"))
    _, events, _ = run_worker("run", str(fx.spec("full", params=train_params(saveEvery=3))))
    fx.worker_files = driver_metadata(fx, fx.root / "full" / "out")
    return fx, events


def test_train_writes_peft_adapter_and_events(trained):
    fx, events = trained
    steps = [e for e in events if e["type"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 9))
    assert all(e["node"] == "train" and e["totalSteps"] == 8 and e["tokensPerSecond"] > 0 for e in steps)
    assert [e["type"] for e in events].count("eval") == 2  # evalEvery 'epoch', 2 epochs
    out = fx.root / "full" / "out"
    # tensors and trainer state only: adapter_config.json and the tokenizer come from the TS driver
    assert fx.worker_files == ["adapter_model.safetensors", "trainer_state.json"]
    weights = load_file(str(out / "adapter_model.safetensors"))
    assert "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" in weights
    assert weights["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"].abs().sum() > 0
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["step"] == 8 and state["backend"] == "torch" and len(state["lossHistory"]) == 8
    assert [e["loss"] for e in steps] == state["lossHistory"]
    assert state["lossHistory"][-1] < state["lossHistory"][0]  # a tiny memorisation task


def test_peft_loads_the_adapter(trained):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    fx, _ = trained
    base = AutoModelForCausalLM.from_pretrained(str(fx.model), dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(fx.root / "full" / "out"))
    weights = load_file(str(fx.root / "full" / "out" / "adapter_model.safetensors"))
    loaded = model.base_model.model.model.layers[0].self_attn.q_proj.lora_B["default"].weight
    assert torch.equal(loaded, weights["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"])


def test_checkpoint_layout(trained):
    fx, _ = trained
    work = fx.root / "full" / "work"
    assert sorted(p.name for p in work.iterdir()) == ["checkpoint-3", "checkpoint-6"]
    ck = work / "checkpoint-6"
    state = json.loads((ck / "trainer_state.json").read_text())
    assert {"step", "epoch", "microBatch", "rng", "recipeKey", "lossHistory", "backend"} <= state.keys()
    assert state["step"] == 6 and state["microBatch"] == 6 and state["epoch"] == 1.5 and state["recipeKey"] == "k-full"
    moments = load_file(str(ck / "optimizer.safetensors"))
    adapter = load_file(str(ck / "adapter_model.safetensors"))
    assert set(moments) == {f"{k}.{m}" for k in adapter for m in ("exp_avg", "exp_avg_sq")}


def test_resume_from_checkpoint_equals_uninterrupted(trained):
    fx, _ = trained
    resumed_work = fx.root / "resumed" / "work"
    resumed_work.mkdir(parents=True)
    shutil.copytree(fx.root / "full" / "work" / "checkpoint-3", resumed_work / "checkpoint-3")
    _, events, _ = run_worker("run", str(fx.spec("resumed", params=train_params(saveEvery=3))))
    assert [e["step"] for e in events if e["type"] == "step"] == [4, 5, 6, 7, 8]
    a = load_file(str(fx.root / "full" / "out" / "adapter_model.safetensors"))
    b = load_file(str(fx.root / "resumed" / "out" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    sa = json.loads((fx.root / "full" / "out" / "trainer_state.json").read_text())
    sb = json.loads((fx.root / "resumed" / "out" / "trainer_state.json").read_text())
    assert sa["lossHistory"] == sb["lossHistory"]


def test_merge_gives_the_adapted_logits(trained):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    fx, _ = trained
    spec = fx.spec("merge", kind="merge", params=merge_params(),
                   extra_inputs={"train": str(fx.root / "full" / "out")})
    run_worker("run", str(spec))
    merged_dir = fx.root / "merge" / "out"
    assert merged_metadata(fx, merged_dir) == ["model.safetensors"]  # weights only: the metadata is the TS driver's
    ids = torch.tensor([[1, 5, 9, 33, 12, 2]])
    merged = AutoModelForCausalLM.from_pretrained(str(merged_dir), dtype=torch.float32)
    peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(fx.model), dtype=torch.float32), str(fx.root / "full" / "out"))
    with torch.no_grad():
        a, b = merged(ids).logits, peft(ids).logits
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_cuda_requested_but_absent_is_a_named_error(trained):
    if torch.cuda.is_available():
        return
    fx, _ = trained
    code, events, _ = run_worker("run", str(fx.spec("g", device="cuda")), check=False)
    assert code == 69
    assert events[-1]["type"] == "error" and events[-1]["name"] == "CudaUnavailable"
    assert "no CUDA device" in events[-1]["message"]


def test_generate_and_eval_nodes(trained):
    fx, _ = trained
    train_out = str(fx.root / "full" / "out")
    spec = fx.spec("gen", kind="generate", params=generate_params(["w5 w9", "w12"], 4), extra_inputs={"train": train_out})
    _, events, _ = run_worker("run", str(spec))
    samples = [json.loads(l) for l in (fx.root / "gen" / "out" / "samples.jsonl").read_text().splitlines()]
    assert [s["prompt"] for s in samples] == ["w5 w9", "w12"]
    assert [e["completion"] for e in events if e["type"] == "sample"] == [s["completion"] for s in samples]
    spec = fx.spec("ev", kind="eval", params=eval_params(), extra_inputs={"train": train_out})
    _, events, _ = run_worker("run", str(spec))
    metrics = json.loads((fx.root / "ev" / "out" / "eval.json").read_text())
    assert metrics["loss"] > 0 and abs(metrics["perplexity"] - __import__("math").exp(metrics["loss"])) < 1e-6
    assert metrics["samples"] == 2 and metrics["tokens"] == sum(sum(m[1:]) for _, m in fx.eval_samples)
    assert [(e["loss"], e["perplexity"]) for e in events if e["type"] == "eval"] == [(metrics["loss"], metrics["perplexity"])]


def test_complete_streams_tokens_and_logits_writes_safetensors(trained, tmp_path):
    fx, _ = trained
    req = tmp_path / "req.json"
    req.write_text(json.dumps({"model": str(fx.model), "adapter": str(fx.root / "full" / "out"), "prompt": "w5 w9", "maxNewTokens": 3,
                               "temperature": 0, "seed": 0, "device": "cpu"}))
    _, events, _ = run_worker("complete", str(req))
    tokens = [e["text"] for e in events if e["type"] == "token"]
    completion = [e["text"] for e in events if e["type"] == "completion"]
    assert len(completion) == 1 and "".join(tokens).strip() == completion[0].strip()
    req.write_text(json.dumps({"cases": [{"model": str(fx.model), "device": "cpu", "ids": [[1, 5, 9]], "out": str(tmp_path / "l.safetensors")}]}))
    run_worker("logits", str(req))
    assert load_file(str(tmp_path / "l.safetensors"))["logits"].shape == (1, 3, 64)


def test_non_finite_loss_checkpoints_and_names_the_step(trained, tmp_path):
    """An initial adapter holding NaN makes step 1 non-finite: the state before it is checkpointed."""
    from safetensors.torch import save_file

    fx, _ = trained
    poisoned = tmp_path / "poisoned"
    shutil.copytree(fx.root / "full" / "out", poisoned)
    weights = load_file(str(poisoned / "adapter_model.safetensors"))
    key = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"
    weights[key] = torch.full_like(weights[key], float("nan"))
    save_file(weights, str(poisoned / "adapter_model.safetensors"))
    code, events, _ = run_worker("run", str(fx.spec("nan", initialAdapter=str(poisoned))), check=False)
    error = events[-1]
    assert code == 1 and error["name"] == "NonFiniteLoss" and error["args"] == [1, None]  # NaN travels as null
    assert (fx.root / "nan" / "work" / "checkpoint-0" / "trainer_state.json").exists()


def test_gradient_checkpointing_gives_the_same_run(trained):
    fx, _ = trained
    params = train_params(saveEvery=3)
    params = params.replace(model=params.model.replace(gradient_checkpointing=True))
    run_worker("run", str(fx.spec("gc", params=params)))
    a = json.loads((fx.root / "full" / "out" / "trainer_state.json").read_text())["lossHistory"]
    b = json.loads((fx.root / "gc" / "out" / "trainer_state.json").read_text())["lossHistory"]
    assert b == pytest.approx(a, rel=1e-5)


def test_unavailable_quantisation_and_paged_optimizer_are_mapped_out_loud(trained):
    """On CPU: nf4 loads unquantised weights and paged AdamW is torch's AdamW, each with a warning;
    modules_to_save tensors get their optimizer moments under PEFT's saved names."""
    if torch.cuda.is_available():
        return
    fx, _ = trained
    params = train_params(optimizer="paged_adamw_32bit", saveEvery=2, keepCheckpoints=1)
    quantize = {"bits": 4, "type": "nf4", "doubleQuant": True, "computeDtype": "float32", "blockSize": 64}
    model = TrainParams.from_json({**params.to_json(), "model": {**params.model.to_json(), "quantize": quantize}}).model
    params = params.replace(model=model, method=params.method.replace(modules_to_save=["lm_head"]))
    _, events, _ = run_worker("run", str(fx.spec("q", params=params)))
    warnings = [e["message"] for e in events if e["type"] == "log" and e["level"] == "warn"]
    assert any("model.quantize { bits: 4, type: 'nf4' } needs bitsandbytes on CUDA (no CUDA device); loading unquantised float32 weights" in w for w in warnings)
    assert any("args.optimizer 'paged_adamw_32bit' needs bitsandbytes on CUDA (no CUDA device); using torch.optim.AdamW" in w for w in warnings)
    ck = fx.root / "q" / "work" / "checkpoint-6"
    adapter = load_file(str(ck / "adapter_model.safetensors"))
    assert "base_model.model.lm_head.weight" in adapter
    assert set(load_file(str(ck / "optimizer.safetensors"))) == {f"{k}.{m}" for k in adapter for m in ("exp_avg", "exp_avg_sq")}
