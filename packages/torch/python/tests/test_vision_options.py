"""`model.vision` in the worker (vision.py's freeze_parts and lora_exclude through methods.py's Full and
Lora wraps): on the tiny random LLaVA and Qwen2-VL of test_vision.py, the parameters left with
requires_grad for each choice. The figures are the ones core's countTrainable gives for the same
configs (test/core/vision-families.test.ts pins the same numbers), so plan counts what trains."""

from __future__ import annotations

import json

import pytest
import torch

from test_vision import make_llava, make_qwen2_vl
from conftest import VOCAB, train_params
from tunekit_torch.methods import Full, Ia3, Lora
from tunekit_torch.params import TrainParams

TOWER, PROJECTOR = {"llava": "vision_tower", "qwen2_vl": "visual.blocks"}, {"llava": "multi_modal_projector", "qwen2_vl": "visual.merger"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("vision-options")
    make_llava(root / "llava", VOCAB)
    make_qwen2_vl(root / "qwen2_vl", {"vision_start_token_id": VOCAB, "vision_end_token_id": VOCAB + 1, "image_token_id": VOCAB + 2, "video_token_id": VOCAB + 3})
    (root / "tokenize").mkdir()
    (root / "tokenize" / "index.json").write_text(json.dumps({"trainableTokenIds": []}))
    return root


def trained(folders, family: str, method: dict, vision: dict | None) -> tuple[int, list[str]]:
    from transformers import AutoModelForImageTextToText

    p = train_params().to_json()
    p["model"]["family"] = family
    if vision is not None:
        p["model"]["vision"] = {"freezeTower": True, "freezeProjector": False, "projectorOnly": False, **vision}
    p["method"] = method if method.get("kind") in ("full", "ia3") else {**p["method"], **method}
    params = TrainParams.from_json(p)
    base = AutoModelForImageTextToText.from_pretrained(str(folders / family), dtype=torch.float32)
    ctx = {"model_id": family, "family": family, "vision": params.model.vision, "tokenize": folders / "tokenize", "initial_adapter": None, "node": "train"}
    model = {"full": Full(), "ia3": Ia3()}.get(method.get("kind"), Lora()).wrap(base, params.method, ctx)
    names = [n for n, q in model.named_parameters() if q.requires_grad]
    return sum(q.numel() for q in model.parameters() if q.requires_grad), names


@pytest.mark.parametrize("vision,expected", [
    (None, 26_912),  # the language model and the projector
    ({"freezeTower": False}, 49_408),  # everything
    ({"freezeProjector": True}, 24_800),  # the language model
    ({"projectorOnly": True}, 2_112),  # the projector
])
def test_llava_full_trains_the_parts_model_vision_names(folders, vision, expected):
    count, names = trained(folders, "llava", {"kind": "full"}, vision)
    assert count == expected
    assert any(TOWER["llava"] in n for n in names) == (vision == {"freezeTower": False})


def test_qwen2_vl_full_trains_the_tower_with_freeze_tower_false(folders):
    assert trained(folders, "qwen2_vl", {"kind": "full"}, None)[0] == 43_776  # all but the ViT blocks and patch embedding
    assert trained(folders, "qwen2_vl", {"kind": "full"}, {"freezeTower": False})[0] == 70_272


def test_lora_adapts_the_tower_only_when_it_trains(folders):
    llava_all = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "linear_1", "linear_2", "out_proj", "fc1", "fc2"]
    # LLaVA: CLIP's q/v_proj share the decoder's names; with the tower trained they are adapted too
    assert trained(folders, "llava", {"targetModules": ["q_proj", "v_proj"]}, None)[0] == 1_024
    count, names = trained(folders, "llava", {"targetModules": ["q_proj", "v_proj"]}, {"freezeTower": False})
    assert count == 2_048 and any("vision_tower" in n for n in names)
    assert trained(folders, "llava", {"targetModules": llava_all}, {"freezeTower": False})[0] == 8_448
    assert trained(folders, "llava", {"targetModules": ["linear_1", "linear_2"]}, {"projectorOnly": True})[0] == 512
    # Qwen2-VL: the blocks' qkv / proj / fc1 / fc2 (its Conv3d patch_embed.proj excluded, LLaMA-Factory's lora_conflict_keys)
    count, names = trained(folders, "qwen2_vl", {"targetModules": ["q_proj", "v_proj", "qkv", "proj", "fc1", "fc2"]}, {"freezeTower": False})
    assert count == 3_968 and not any("patch_embed" in n for n in names)


def test_ia3_leaves_the_llava_tower_alone(folders):
    """IA³ on k/v_proj and down_proj: the language model's only (CLIP's k/v_proj share the names; PEFT's exclude_modules keeps them out)."""
    count, names = trained(folders, "llava", {"kind": "ia3", "targetModules": ["k_proj", "v_proj", "down_proj"], "feedforwardModules": ["down_proj"]}, None)
    assert count == 256 and not any("vision_tower" in n for n in names)
