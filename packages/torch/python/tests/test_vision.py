"""Vision-language SFT in the worker (tunekit_torch/vision.py): a tiny random LLaVA and Qwen2-VL built with
transformers' own classes, images preprocessed by transformers' own processors into pixel shards
(docs/architecture.md, "Token shards"), and the worker's training loss equal to a plain transformers +
PEFT loop's on the same batches (LlavaForConditionalGeneration's / Qwen2VLForConditionalGeneration's
own loss from `labels`); the merged LLaVA folder loads in transformers with the adapted logits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import VOCAB, make_plan, make_shards, make_tokenizer, merge_params, train_params
from worker import run_worker

SEED = 7
LORA = {"targetModules": ["q_proj", "v_proj", "linear_1", "linear_2"]}


def images(n: int, seed: int) -> list:
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)) for _ in range(n)]


def make_llava(folder: Path, image_id: int) -> None:
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    torch.manual_seed(0)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=28, patch_size=7, projection_dim=32)
    text = LlamaConfig(vocab_size=VOCAB + 1, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                       max_position_embeddings=128, bos_token_id=1, eos_token_id=2)
    LlavaForConditionalGeneration(LlavaConfig(vision_config=vision, text_config=text, image_token_index=image_id)).save_pretrained(str(folder))


def make_qwen2_vl(folder: Path, ids: dict) -> None:
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    torch.manual_seed(0)
    text = dict(vocab_size=VOCAB + 4, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                max_position_embeddings=256, rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]}, bos_token_id=1, eos_token_id=2)
    vision = dict(depth=2, embed_dim=32, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=7, spatial_merge_size=2, temporal_patch_size=2, in_channels=3)
    Qwen2VLForConditionalGeneration(Qwen2VLConfig(text_config=text, vision_config=vision, **ids)).save_pretrained(str(folder))


class VisionFixture:
    """model/, tokenize/ (tokenizer with the image tokens), split/train with pixel shards, collate/plan.json."""

    def __init__(self, root: Path, family: str, samples: int = 6):
        self.root, self.family = root, family
        self.model, self.tokenize, self.split, self.collate = root / "model", root / "tokenize", root / "split", root / "collate"
        rng = np.random.default_rng(3)
        if family == "llava":
            from transformers import CLIPImageProcessor

            make_tokenizer(self.tokenize / "tokenizer", ["<image>"])
            make_llava(self.model, VOCAB)
            proc = CLIPImageProcessor(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28})
            pixels = [proc(im, return_tensors="np")["pixel_values"][0] for im in images(samples, 5)]  # [3, 28, 28]
            grids, image_tokens = None, [[VOCAB] * 16] * samples  # (28 / 7)² patches
        else:
            from transformers import Qwen2VLImageProcessor

            make_tokenizer(self.tokenize / "tokenizer", ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"])
            start, end, pad = VOCAB, VOCAB + 1, VOCAB + 2
            make_qwen2_vl(self.model, {"vision_start_token_id": start, "vision_end_token_id": end, "image_token_id": pad, "video_token_id": VOCAB + 3})
            proc = Qwen2VLImageProcessor(patch_size=7, merge_size=2, temporal_patch_size=2, min_pixels=28 * 28, max_pixels=28 * 28)
            outs = [proc(im, return_tensors="np") for im in images(samples, 5)]
            pixels = [o["pixel_values"] for o in outs]  # [patches, 3·2·7·7]
            grids = [o["image_grid_thw"][0].tolist() for o in outs]
            image_tokens = [[start] + [pad] * (int(np.prod(g)) // 4) + [end] for g in grids]
        self.samples = []
        for toks in image_tokens:
            question = rng.integers(3, VOCAB, 3).tolist()
            answer = rng.integers(3, VOCAB, 2).tolist()
            ids = [1, *toks, *question, *answer, 2]
            self.samples.append((ids, [0] * (len(ids) - 3) + [1] * 3))
        self.pixels = pixels
        offsets = np.cumsum([0] + [p.size for p in pixels[:-1]]).tolist()
        index_images = {"counts": [1] * samples, "first": list(range(samples)), "offsets": offsets, "shapes": [list(p.shape) for p in pixels], "gridThw": grids}
        for folder in (self.tokenize, self.split / "train"):
            make_shards(folder, self.samples, images=index_images, **({"trainableTokenIds": []} if folder == self.tokenize else {}))
            np.concatenate([p.reshape(-1) for p in pixels]).astype("<f4").tofile(folder / "pixels.bin")
        (self.tokenize / "chat_template.jinja").write_text("{{ messages }}")
        # rows in order, 2 a micro-batch, 3 steps
        lengths = [len(s[0]) for s in self.samples]
        self.plan = make_plan(self.collate, lengths, [], rows=2, epochs=1)
        for ep in self.plan["epochsPlan"]:
            ep["microBatches"] = [{"length": max(lengths[s] for s in pair), "rows": [[{"sample": s, "start": 0, "length": lengths[s]}] for s in pair]}
                                  for pair in ([0, 1], [2, 3], [4, 5])]
        (self.collate / "plan.json").write_text(json.dumps(self.plan))

    def params(self, **method):
        p = train_params(learningRate=5e-3, lrScheduler="constant", warmupSteps=0, maxGradNorm=0.0, shuffle=False, evalEvery="never").to_json()
        p["model"]["family"] = self.family
        p["method"].update(LORA if self.family == "llava" else {"targetModules": ["q_proj", "v_proj", "mlp.0", "mlp.2"]}, **method)
        from tunekit_torch.params import TrainParams

        return TrainParams.from_json(p)

    def spec(self, name: str, kind: str = "train", params=None) -> Path:
        folders = {"model": self.model, "tokenize": self.tokenize, "split": self.split, "collate": self.collate}
        if kind == "merge":
            folders = {"model": self.model, "train": self.root / "train" / "out", "tokenize": self.tokenize}
        spec = {"version": 1, "node": {"id": kind, "kind": kind, "key": "k-" + name, "params": (params or self.params()).to_json()},
                "inputs": {k: {"kind": k, "dir": str(v)} for k, v in folders.items()},
                "outDir": str(self.root / name / "out"), "workDir": str(self.root / name / "work"), "device": "cpu"}
        path = self.root / f"{name}.json"
        path.write_text(json.dumps(spec))
        return path

    def batch(self, pair: list[int]) -> dict:
        """One micro-batch as a plain transformers loop builds it: right-padded, labels on the answer (unshifted)."""
        length = max(len(self.samples[s][0]) for s in pair)
        ids = torch.zeros(len(pair), length, dtype=torch.long)
        labels = torch.full((len(pair), length), -100, dtype=torch.long)
        mask = torch.zeros(len(pair), length, dtype=torch.long)
        for r, s in enumerate(pair):
            toks, m = self.samples[s]
            ids[r, : len(toks)] = torch.tensor(toks)
            mask[r, : len(toks)] = 1
            labels[r, : len(toks)] = torch.where(torch.tensor(m) == 1, torch.tensor(toks), -100)
        out = {"input_ids": ids, "attention_mask": mask, "labels": labels}
        if self.family == "llava":
            out["pixel_values"] = torch.from_numpy(np.stack([self.pixels[s] for s in pair]))
        else:
            out["pixel_values"] = torch.from_numpy(np.concatenate([self.pixels[s] for s in pair]))
            out["image_grid_thw"] = torch.tensor([[1, 4, 4] for _ in pair])
            out["mm_token_type_ids"] = (ids == VOCAB + 2).int()  # what Qwen2VLProcessor returns: 1 on <|image_pad|>
        return out


def reference_losses(fx: VisionFixture, targets: list[str]) -> tuple[list[float], object]:
    """Three AdamW steps of transformers' model + PEFT's LoRA, the loss from the model's own `labels`."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    base = AutoModelForImageTextToText.from_pretrained(str(fx.model), dtype=torch.float32)
    tower = r".*vision_tower.*" if fx.family == "llava" else r".*visual\.(blocks|patch_embed).*"
    torch.manual_seed(SEED)  # the worker seeds args.seed before get_peft_model: PEFT's A matrices drawn alike
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=targets, exclude_modules=tower, task_type="CAUSAL_LM"))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, foreach=False)
    losses = []
    for pair in ([0, 1], [2, 3], [4, 5]):
        loss = model(**fx.batch(pair), use_cache=False).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    return losses, model


@pytest.fixture(scope="module", params=["llava", "qwen2_vl"])
def trained(request, tmp_path_factory):
    """The family's fixture after the worker's 3 LoRA steps: (fixture, the worker's events)."""
    fx = VisionFixture(tmp_path_factory.mktemp(request.param), request.param)
    _, events, _ = run_worker("run", str(fx.spec("train")))
    return fx, events


def targets(fx: VisionFixture) -> list[str]:
    return LORA["targetModules"] if fx.family == "llava" else ["q_proj", "v_proj", "mlp.0", "mlp.2"]


def tower(fx: VisionFixture) -> str:
    return r".*vision_tower.*" if fx.family == "llava" else r".*visual\.(blocks|patch_embed).*"


def test_loss_equals_transformers_and_peft(trained):
    fx, events = trained
    worker = [e["loss"] for e in events if e["type"] == "step"]
    expected, _ = reference_losses(fx, targets(fx))
    assert len(worker) == 3
    assert np.allclose(worker, expected, rtol=0, atol=1e-5), (worker, expected)
    # the vision tower has no adapter; the language model and the projector do
    from safetensors.torch import load_file

    keys = load_file(str(fx.root / "train" / "out" / "adapter_model.safetensors")).keys()
    assert not any("vision_tower" in k or ".blocks." in k for k in keys)
    adapted = {"q_proj", "v_proj", "linear_1", "linear_2"} if fx.family == "llava" else {"q_proj", "v_proj", "0", "2"}  # mlp.0, mlp.2
    assert {k.split(".lora_")[0].rsplit(".", 1)[-1] for k in keys} == adapted
    assert any(("multi_modal_projector.linear_1.lora_A" if fx.family == "llava" else "visual.merger.mlp.0.lora_A") in k for k in keys)


def merged_folder(fx: VisionFixture) -> Path:
    """The worker's merge of the trained adapter, with the base's config.json and the tokenizer beside it
    (what the TS driver writes through @tunekit/hf); merged once per fixture."""
    merged_dir = fx.root / "merge" / "out"
    if (merged_dir / "config.json").exists():
        return merged_dir
    from tunekit_torch.modeling import lora_config

    # what the TS driver writes beside the tensors: adapter_config.json (here PEFT's own)
    lora_config(fx.params().method, str(fx.model), [], tower(fx)).save_pretrained(str(fx.root / "train" / "out"))
    run_worker("run", str(fx.spec("merge", kind="merge", params=merge_params())))
    for f in (fx.tokenize / "tokenizer").iterdir():
        shutil.copy(f, merged_dir / f.name)
    shutil.copy(fx.model / "config.json", merged_dir / "config.json")
    return merged_dir


def test_merge_loads_in_transformers_with_the_adapted_logits(trained):
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    fx, _ = trained
    merged, info = AutoModelForImageTextToText.from_pretrained(str(merged_folder(fx)), dtype=torch.float32, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    adapted = PeftModel.from_pretrained(AutoModelForImageTextToText.from_pretrained(str(fx.model), dtype=torch.float32), str(fx.root / "train" / "out"))
    batch = {k: v for k, v in fx.batch([0, 1]).items() if k != "labels"}
    with torch.no_grad():
        a, b = merged(**batch).logits, adapted(**batch).logits
    assert (a - b).abs().max().item() < 1e-5


def test_complete_feeds_the_request_images(trained):
    """`complete` with `pixels` (the torch driver's pixels.bin beside request.json; Qwen2-VL's image_grid_thw
    with them) answers what transformers' generate answers with those inputs."""
    from transformers import AutoModelForImageTextToText

    fx, _ = trained
    merged_dir = merged_folder(fx)
    ids, _ = fx.samples[0]
    prompt_ids = ids[:-3]  # the image tokens and the question
    folder = fx.root / "complete"
    folder.mkdir()
    fx.pixels[0].astype("<f4").tofile(folder / "pixels.bin")
    from tunekit_torch.modeling import load_tokenizer

    grid = [[1, 4, 4]] if fx.family == "qwen2_vl" else None
    tok = load_tokenizer(merged_dir)
    prompt = tok.decode(prompt_ids[1:], skip_special_tokens=False)
    request = {"model": str(merged_dir), "prompt": prompt, "maxNewTokens": 4, "temperature": 0, "seed": 0, "device": "cpu",
               "pixels": {"file": "pixels.bin", "offsets": [0], "shapes": [list(fx.pixels[0].shape)], "gridThw": grid}}
    (folder / "request.json").write_text(json.dumps(request))
    _, events, _ = run_worker("complete", str(folder / "request.json"))
    text = next(e["text"] for e in events if e["type"] == "completion")
    model = AutoModelForImageTextToText.from_pretrained(str(merged_dir), dtype=torch.float32).eval()
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    pad = VOCAB if fx.family == "llava" else VOCAB + 2
    assert enc["input_ids"][0].tolist().count(pad) == (16 if fx.family == "llava" else 4)  # the prompt's image tokens
    if fx.family == "llava":
        vision = {"pixel_values": torch.from_numpy(fx.pixels[0][None])}
    else:  # what Qwen2VLProcessor returns beside input_ids
        vision = {"pixel_values": torch.from_numpy(fx.pixels[0]), "image_grid_thw": torch.tensor(grid), "mm_token_type_ids": (enc["input_ids"] == pad).int()}
    with torch.no_grad():
        out = model.generate(**enc, **vision, max_new_tokens=4, do_sample=False, eos_token_id=[2], pad_token_id=2)
    expected = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    assert text == expected and out.shape[1] > enc["input_ids"].shape[1]


@pytest.mark.parametrize("family", ["llava", "qwen2_vl"])
def test_packed_rows_train_as_their_samples_unpacked(tmp_path, family):
    """data.packing: two samples with an image each in one row, attention block-diagonal and, for Qwen2-VL,
    the M-RoPE positions computed per segment (vision.py's mrope_positions, as get_rope_index computes them
    for a row of its own): the steps' losses equal the unpacked plan's (each step the same 2 samples)."""
    fx = VisionFixture(tmp_path, family)
    unpacked = [e["loss"] for e in run_worker("run", str(fx.spec("unpacked")))[1] if e["type"] == "step"]
    lengths = [len(s[0]) for s in fx.samples]
    for ep in fx.plan["epochsPlan"]:
        ep["microBatches"] = [{"length": lengths[a] + lengths[b], "rows": [[{"sample": a, "start": 0, "length": lengths[a]}, {"sample": b, "start": 0, "length": lengths[b]}]]}
                              for a, b in ([0, 1], [2, 3], [4, 5])]
    (fx.collate / "plan.json").write_text(json.dumps(fx.plan))
    packed = [e["loss"] for e in run_worker("run", str(fx.spec("packed")))[1] if e["type"] == "step"]
    # padding-free (args.paddingFree): the segments end to end in one row, no mask: the 1-D positions lead the 3-D ones
    from tunekit_torch.params import TrainParams

    flat = fx.params().to_json()
    flat["args"]["paddingFree"] = True
    flat = [e["loss"] for e in run_worker("run", str(fx.spec("flat", params=TrainParams.from_json(flat))))[1] if e["type"] == "step"]
    assert len(packed) == 3
    assert np.allclose(packed, unpacked, rtol=0, atol=1e-5), (packed, unpacked)
    assert np.allclose(flat, unpacked, rtol=0, atol=1e-5), (flat, unpacked)


def test_qwen2_vl_full_run_merges_to_a_folder_transformers_loads(tmp_path):
    """method full: the merge of the trained model folder (its tower frozen) loads in transformers with
    every weight in place and gives the trained artifact's logits."""
    from transformers import AutoModelForImageTextToText

    from tunekit_torch.params import TrainParams

    fx = VisionFixture(tmp_path, "qwen2_vl")
    p = fx.params().to_json()
    p["method"] = {"kind": "full"}
    run_worker("run", str(fx.spec("train", params=TrainParams.from_json(p))))
    run_worker("run", str(fx.spec("merge", kind="merge", params=merge_params())))
    merged_dir = fx.root / "merge" / "out"
    shutil.copy(fx.model / "config.json", merged_dir / "config.json")
    merged, info = AutoModelForImageTextToText.from_pretrained(str(merged_dir), dtype=torch.float32, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    trained = AutoModelForImageTextToText.from_pretrained(str(fx.root / "train" / "out"), dtype=torch.float32)
    base = AutoModelForImageTextToText.from_pretrained(str(fx.model), dtype=torch.float32)
    batch = {k: v for k, v in fx.batch([0, 1]).items() if k != "labels"}
    with torch.no_grad():
        a, b, c = merged(**batch).logits, trained(**batch).logits, base(**batch).logits
    assert (a - b).abs().max().item() < 1e-5 and (a - c).abs().max().item() > 1e-3  # trained, and kept as trained
    # the ViT blocks stayed frozen; the merger trained
    tower = [n for n, _ in base.named_parameters() if ".blocks." in n]
    assert all(torch.equal(dict(merged.named_parameters())[n], dict(base.named_parameters())[n]) for n in tower)
    assert not torch.equal(merged.model.visual.merger.mlp[0].weight, base.model.visual.merger.mlp[0].weight)
