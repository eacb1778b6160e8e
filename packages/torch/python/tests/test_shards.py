import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import Fixture, make_shards, train_params
from tunekit_torch.shards import IGNORE, build_batch, open_shards, schedule_steps, trained_tokens
from worker import run_worker


@pytest.fixture
def shards(tmp_path):
    make_shards(tmp_path, [([1, 10, 11, 12, 2], [0, 0, 1, 1, 1]), ([1, 20, 21, 2], [0, 1, 1, 1])])
    return open_shards(tmp_path)


def test_labels_are_next_tokens_where_the_mask_marks_targets(shards):
    mb = {"length": 6, "rows": [[{"sample": 0, "start": 0, "length": 5}], [{"sample": 1, "start": 0, "length": 4}]]}
    b = build_batch(shards, mb, torch.device("cpu"))
    assert b["input_ids"].tolist() == [[1, 10, 11, 12, 2, 0], [1, 20, 21, 2, 0, 0]]
    assert b["labels"].tolist() == [[IGNORE, 11, 12, 2, IGNORE, IGNORE], [20, 21, 2, IGNORE, IGNORE, IGNORE]]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]]
    assert trained_tokens(shards, mb) == 6 == b["label_count"]  # counted on the host, no GPU wait


def test_packed_segments_restart_positions_and_never_attend_across(shards):
    mb = {"length": 10, "rows": [[{"sample": 0, "start": 0, "length": 5}, {"sample": 1, "start": 0, "length": 4}]]}
    b = build_batch(shards, mb, torch.device("cpu"))
    assert b["position_ids"].tolist() == [[0, 1, 2, 3, 4, 0, 1, 2, 3, 0]]
    assert b["labels"].tolist() == [[IGNORE, 11, 12, 2, IGNORE, 20, 21, 2, IGNORE, IGNORE]]
    mask = b["attention_mask"][0, 0]  # [q, k]
    assert mask.shape == (10, 10)
    assert not mask[5:9, :5].any()  # second segment sees nothing of the first
    assert mask[8, 5:9].all() and not mask[7, 8]  # causal inside the segment


def test_packed_row_loss_equals_separate_rows(tmp_path):
    from transformers import AutoModelForCausalLM

    fx = Fixture(tmp_path)
    model = AutoModelForCausalLM.from_pretrained(str(fx.model), dtype=torch.float32, attn_implementation="sdpa").eval()
    s = open_shards(fx.split / "train")
    a, b = fx.train_samples[0], fx.train_samples[1]
    la, lb = len(a[0]), len(b[0])
    packed = {"length": la + lb + 3, "rows": [[{"sample": 0, "start": 0, "length": la}, {"sample": 1, "start": 0, "length": lb}]]}
    separate = {"length": max(la, lb), "rows": [[{"sample": 0, "start": 0, "length": la}], [{"sample": 1, "start": 0, "length": lb}]]}
    from tunekit_torch.train import token_loss_sum
    import contextlib

    with torch.no_grad():
        lp, np_ = token_loss_sum(model, build_batch(s, packed, torch.device("cpu")), contextlib.nullcontext)
        ls, ns = token_loss_sum(model, build_batch(s, separate, torch.device("cpu")), contextlib.nullcontext)
    assert np_ == ns
    torch.testing.assert_close(lp, ls, rtol=1e-5, atol=1e-5)


def test_steps_follow_accumulation_and_total():
    plan = {"gradientAccumulationSteps": 2, "totalSteps": 3, "stepsPerEpoch": 2,
            "epochsPlan": [{"microBatches": [{"i": i} for i in range(5)]}, {"microBatches": [{"i": i} for i in range(5, 10)]}]}
    steps = schedule_steps(plan)
    # the fifth micro-batch of an epoch is left over (transformers' Trainer does the same)
    assert [(e, f, [m["i"] for m in mbs]) for e, f, mbs in steps] == [(0, 0, [0, 1]), (0, 2, [2, 3]), (1, 0, [5, 6])]


def test_accumulation_equals_one_big_batch(tmp_path):
    """2 rows x 1 micro-batch and 1 row x 2 micro-batches: same loss per step, same adapter."""
    import shutil

    big = Fixture(tmp_path / "big", rows=2, accum=1, epochs=1)
    small = tmp_path / "small"
    shutil.copytree(big.root, small)
    plan = json.loads((small / "collate" / "plan.json").read_text())
    rows = [mb["rows"] for mb in plan["epochsPlan"][0]["microBatches"]]
    split = [{"length": max(seg["length"] for seg in r[0:1][0]), "rows": [r_]} for r in rows for r_ in r]
    for mb in split:
        mb["length"] = mb["rows"][0][0]["length"]
    plan.update(microBatchSize=1, gradientAccumulationSteps=2, epochsPlan=[{"microBatches": split}])
    (small / "collate" / "plan.json").write_text(json.dumps(plan))
    params = train_params(maxGradNorm=0.0)
    run_worker("run", str(big.spec("r", params=params)))
    big.root = small  # same fixture files, other plan
    big.collate = small / "collate"
    run_worker("run", str(big.spec("r", params=params)))
    la = json.loads((tmp_path / "big" / "r" / "out" / "trainer_state.json").read_text())["lossHistory"]
    lb = json.loads((small / "r" / "out" / "trainer_state.json").read_text())["lossHistory"]
    np.testing.assert_allclose(la, lb, rtol=1e-5)
    wa = load_file(str(tmp_path / "big" / "r" / "out" / "adapter_model.safetensors"))
    wb = load_file(str(small / "r" / "out" / "adapter_model.safetensors"))
    # The two runs sum the same float32 terms in another order (one micro-batch of 2 rows vs two of
    # 1), so each gradient differs by rounding, and relatively most where its terms nearly cancel.
    # AdamW scales every update to about lr (1e-2) whatever the gradient's size, so such an element
    # can move by a visible fraction of lr: allow lr / 1000 absolute (2.1e-6 was seen on an AMD EPYC).
    # A real accumulation bug (a micro-batch dropped or counted twice) changes directions: ~lr.
    lr = params.args.learning_rate
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=lr * 1e-3)


def test_schedule_matches_transformers():
    from transformers import get_linear_schedule_with_warmup

    from tunekit_torch.optim import lr_factor

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    ref = get_linear_schedule_with_warmup(opt, 2, 10)
    expected = []
    for _ in range(10):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    f = lr_factor(train_params(lrScheduler="linear", warmupSteps=2).args, 10)
    assert [f(i) for i in range(10)] == pytest.approx(expected)
