"""The speed options of the train node (speed.py): padding-free micro-batches (under SDPA and the
segment attention) and the chunked loss give the plain run's losses and gradients within 1e-5
(float32, CPU); unset, both are on on CPU."""

import contextlib
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from conftest import Fixture, train_params
from tunekit_torch.chunked_loss import ChunkedLinearCrossEntropy
from tunekit_torch.segment_attention import use_segment_attention
from tunekit_torch.shards import IGNORE, build_batch, open_shards
from tunekit_torch.train import token_loss_sum
from worker import run_worker

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return Fixture(tmp_path_factory.mktemp("speed"))


def sdpa_model(fx):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(fx.model), dtype=torch.float32, attn_implementation="sdpa").eval()


def token_losses(model, batch) -> torch.Tensor:
    """Cross-entropy of every position [rows, length] (0 where there is no label). No cache, as
    training runs: transformers reads packed samples from the position ids only without one. A flat
    batch passes its sample boundaries (the segment attention reads them, SDPA ignores them)."""
    bounds = {"cu_seq_lens_q": batch["cu_seq_lens"]} if batch.get("cu_seq_lens") is not None else {}
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"],
                   use_cache=False, **bounds).logits
    return F.cross_entropy(logits.transpose(1, 2), batch["labels"], ignore_index=IGNORE, reduction="none")


def sample_losses(losses: torch.Tensor, micro_batch: dict, flat: bool) -> list[torch.Tensor]:
    """Each segment's summed token losses, in the micro-batch's order of rows and segments."""
    out, row_of = [], [[seg for row in micro_batch["rows"] for seg in row]] if flat else micro_batch["rows"]
    for r, row in enumerate(row_of):
        col = 0
        for seg in row:
            out.append(losses[r, col : col + seg["length"]].sum())
            col += seg["length"]
    return out


def test_flat_batch_is_one_row_with_restarting_positions(fx):
    s = open_shards(fx.split / "train")
    lengths = [len(x[0]) for x in fx.train_samples[:3]]
    mb = {"length": max(lengths[0] + lengths[1], lengths[2]),
          "rows": [[{"sample": 0, "start": 0, "length": lengths[0]}, {"sample": 1, "start": 0, "length": lengths[1]}],
                   [{"sample": 2, "start": 0, "length": lengths[2]}]]}
    padded, flat = build_batch(s, mb, CPU), build_batch(s, mb, CPU, flat=True)
    assert flat["input_ids"].shape == (1, sum(lengths)) and flat["attention_mask"] is None
    assert flat["position_ids"][0].tolist() == [p for n in lengths for p in range(n)]
    assert flat["cu_seq_lens"].tolist() == [0, lengths[0], lengths[0] + lengths[1], sum(lengths)] and flat["max_length"] == max(lengths)
    # the same labels, none of them padding: only the padded batch's real positions, in order
    real = padded["labels"][padded["position_ids"] >= 0]
    assert flat["label_count"] == padded["label_count"] == int((real != IGNORE).sum())
    assert flat["labels"][0][flat["labels"][0] != IGNORE].tolist() == padded["labels"][padded["labels"] != IGNORE].tolist()


@pytest.mark.parametrize("attention", ["sdpa", "segments", "segments, window 3"])
def test_padding_free_sample_losses_equal_the_padded_run(fx, attention):
    """transformers 5 under SDPA, given position ids restarting at 0 and no attention mask, builds
    the block-diagonal causal mask itself (masking_utils.find_packed_sequence_indices); the segment
    attention (segment_attention.py) attends each sample alone, also with a sliding window shorter
    than the samples: each sample's loss in the flat row is its loss alone in a padded row (under
    the same window), and a packed row's under the 4-D mask."""
    model = sdpa_model(fx)
    if attention.endswith("window 3"):
        model.config.sliding_window = 3
    flat_model = sdpa_model(fx)
    flat_model.config.sliding_window = model.config.sliding_window
    if attention != "sdpa":
        use_segment_attention(flat_model)
    s = open_shards(fx.split / "train")
    lengths = [len(x[0]) for x in fx.train_samples]
    padded_mb = {"length": max(lengths[:4]), "rows": [[{"sample": i, "start": 0, "length": lengths[i]}] for i in range(4)]}
    packed_mb = {"length": lengths[4] + lengths[5], "rows": [[{"sample": 4, "start": 0, "length": lengths[4]},
                                                             {"sample": 5, "start": 0, "length": lengths[5]}]]}
    # build_batch's 4-D mask of a packed row has no sliding window: the window case compares padded rows
    with torch.no_grad():
        for mb in (padded_mb,) if model.config.sliding_window else (padded_mb, packed_mb):
            ref = sample_losses(token_losses(model, build_batch(s, mb, CPU)), mb, flat=False)
            got = sample_losses(token_losses(flat_model, build_batch(s, mb, CPU, flat=True)), mb, flat=True)
            assert len(got) == len(ref) and all(r > 0 for r in ref)
            for a, b in zip(got, ref):
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_chunked_cross_entropy_equals_the_plain_one_with_gradients():
    """Several chunks (7 tokens each over 20), a bias and Gemma-2's softcapping: loss and the
    gradients of hidden, weight and bias as autograd gives them through the whole logits."""
    torch.manual_seed(0)
    hidden = torch.randn(20, 16, dtype=torch.float64).float().requires_grad_()
    weight = (0.3 * torch.randn(50, 16)).requires_grad_()
    bias = (0.1 * torch.randn(50)).requires_grad_()
    labels = torch.randint(0, 50, (20,))
    for cap in (None, 3.0):
        z = hidden @ weight.T + bias
        z = z if cap is None else cap * torch.tanh(z / cap)
        plain = F.cross_entropy(z, labels, reduction="sum")
        want = torch.autograd.grad(2.5 * plain, (hidden, weight, bias))
        chunked = ChunkedLinearCrossEntropy.apply(hidden, weight, bias, labels, cap, 7)
        got = torch.autograd.grad(2.5 * chunked, (hidden, weight, bias))
        torch.testing.assert_close(chunked, plain, rtol=1e-5, atol=1e-5)
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)


def test_chunked_model_loss_equals_the_logits_loss(fx):
    """token_loss_sum with chunked=True (no lm_head in the forward, the labelled positions only):
    the loss and every gradient of a full model, lm_head included."""
    s = open_shards(fx.split / "train")
    lengths = [len(x[0]) for x in fx.train_samples]
    mb = {"length": max(lengths[:3]), "rows": [[{"sample": i, "start": 0, "length": lengths[i]}] for i in range(3)]}
    results = []
    for chunked in (False, True):
        model = sdpa_model(fx)
        loss, n = token_loss_sum(model, build_batch(s, mb, CPU), contextlib.nullcontext, chunked)
        loss.backward()
        results.append((loss.detach(), n, {k: p.grad for k, p in model.named_parameters()}))
    (plain, n0, g0), (chunked, n1, g1) = results
    assert n0 == n1 > 0 and g1["lm_head.weight"] is not None
    torch.testing.assert_close(chunked, plain, rtol=1e-5, atol=1e-5)
    for k in g0:
        torch.testing.assert_close(g1[k], g0[k], rtol=1e-5, atol=1e-6, msg=lambda m: f"{k}: {m}")


def test_worker_run_with_padding_free_and_chunked_loss_equals_the_plain_run(fx):
    """8 steps of 2-row micro-batches (padded in the plain run: both options false), eval each
    epoch: the run with both options unset (on, on CPU: speed.py) gives the same step losses, eval
    losses and adapter as the plain run, within 1e-5."""
    runs = {}
    for name, extra in (("plain", {"paddingFree": False, "chunkedLoss": False}), ("fast", {})):
        params = train_params(**extra)
        _, events, log = run_worker("run", str(fx.spec(name, params=params)))
        runs[name] = ([e["loss"] for e in events if e["type"] in ("step", "eval")], load_file(str(fx.root / name / "out" / "adapter_model.safetensors")), log)
    (plain, a, plain_log), (fast, b, log) = runs["plain"], runs["fast"]
    assert "chunked cross-entropy (tunekit)" in log and "padding-free rows, attended one sample at a time (SDPA)" in log
    assert "chunked" not in plain_log and "padding-free" not in plain_log
    assert len(plain) == len(fast) == 10  # 8 steps, 2 evals
    torch.testing.assert_close(torch.tensor(fast), torch.tensor(plain), rtol=1e-5, atol=1e-6)
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-5, msg=lambda m: f"{k}: {m}")


def test_padding_free_refuses_virtual_tokens(fx):
    """Prompt tuning puts its virtual tokens before each row: one flat row would give them to its
    first sample only, so the worker refuses (a catalog error through the driver)."""
    from safetensors.torch import save_file

    from tunekit_torch.params import TrainParams

    params = train_params(paddingFree=True).to_json()
    params["method"] = {"kind": "prompt-tuning", "numVirtualTokens": 2, "promptTuningInit": "RANDOM"}
    initial = fx.root / "pt-initial"
    initial.mkdir()
    save_file({"prompt_embeddings": torch.randn(2, 32)}, str(initial / "adapter_model.safetensors"))
    spec = fx.spec("pt", params=TrainParams.from_json(params), initialAdapter=str(initial))
    code, events, _ = run_worker("run", str(spec), check=False)
    assert code == 1 and events[-1]["name"] == "PaddingFreeVirtualTokens"


def test_torch_compile_without_a_compiler_is_a_named_error(fx, monkeypatch):
    """On CPU inductor compiles C++: without g++ / c++ on PATH the worker refuses before the first
    step (the compiled run itself is tests-slow/test_compile.py: minutes of compilation here)."""
    monkeypatch.setenv("PATH", str(fx.root / "no-compiler"))
    code, events, _ = run_worker("run", str(fx.spec("nocc", params=train_params(torchCompile=True))), check=False)
    assert code == 1 and events[-1]["name"] == "TorchCompileUnavailable"
    assert "no C++ compiler" in events[-1]["args"][0]
