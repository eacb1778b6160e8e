"""Tiny, seeded fixtures written in the documented artifact layouts (docs/architecture.md):
a random Mistral-shaped model, a word-level tokenizer, token shards, a batch plan and node specs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tunekit_torch.params import EvalParams, GenerateParams, MergeParams, TrainParams  # noqa: E402
from tunekit_torch.params_base import Params  # noqa: E402

VOCAB = 64


def make_tokenizer(folder: Path, added: list[str] = ()) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<unk>", "<s>", "</s>"] + [f"w{i}" for i in range(VOCAB - 3)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    if added:
        fast.add_special_tokens({"additional_special_tokens": list(added)})
    fast.chat_template = "{% for m in messages %}{{ m['role'] }} {{ m['content'] }} </s> {% endfor %}{% if add_generation_prompt %}assistant {% endif %}"
    fast.save_pretrained(str(folder))


def make_model(folder: Path, seed: int = 0) -> None:
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(seed)
    cfg = MistralConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                        bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)
    MistralForCausalLM(cfg).save_pretrained(str(folder))


def make_shards(folder: Path, samples: list[tuple[list[int], list[int]]], **index_extra) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ids = np.concatenate([np.asarray(s[0], "<i4") for s in samples]) if samples else np.zeros(0, "<i4")
    mask = np.concatenate([np.asarray(s[1], "u1") for s in samples]) if samples else np.zeros(0, "u1")
    ids.tofile(folder / "ids.bin")
    mask.tofile(folder / "mask.bin")
    lengths = [len(s[0]) for s in samples]
    offsets = list(np.cumsum([0] + lengths[:-1]).astype(int).tolist()) if samples else []
    (folder / "index.json").write_text(json.dumps({"format": "tunekit-shards", "version": 1, "key": "test", "count": len(samples),
                                                   "offsets": offsets, "lengths": lengths, "stats": {}, "eosId": 2, "padId": 0, "bosId": 1, **index_extra}))


def random_samples(n: int, seed: int, lo: int = 6, hi: int = 14) -> list[tuple[list[int], list[int]]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length = int(rng.integers(lo, hi))
        ids = [1] + rng.integers(3, VOCAB, length - 2).tolist() + [2]
        prompt = length // 2
        mask = [0] * prompt + [1] * (length - prompt)
        out.append((ids, mask))
    return out


def micro_batches(lengths: list[int], order: list[int], rows: int) -> list[dict]:
    out = []
    for i in range(0, len(order), rows):
        chunk = order[i : i + rows]
        out.append({"length": max(lengths[s] for s in chunk), "rows": [[{"sample": s, "start": 0, "length": lengths[s]}] for s in chunk]})
    return out


def make_plan(folder: Path, train_lengths: list[int], eval_lengths: list[int], rows: int = 2, accum: int = 1,
              epochs: int = 2, seed: int = 0, max_steps: int | None = None) -> dict:
    rng = np.random.default_rng(seed)
    plans = [{"microBatches": micro_batches(train_lengths, rng.permutation(len(train_lengths)).tolist(), rows)} for _ in range(epochs)]
    per_epoch = max(1, len(plans[0]["microBatches"]) // accum)
    total = per_epoch * epochs if max_steps is None else min(max_steps, per_epoch * epochs)
    plan = {"version": 1, "seqLen": 32, "microBatchSize": rows, "gradientAccumulationSteps": accum,
            "stepsPerEpoch": per_epoch, "totalSteps": total, "epochs": epochs, "paddingEfficiency": 1,
            "epochsPlan": plans, "eval": {"microBatches": micro_batches(eval_lengths, list(range(len(eval_lengths))), rows)}}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.json").write_text(json.dumps(plan))
    return plan


def train_params(**args) -> TrainParams:
    """The train node's params as `compile` writes them (every key: no defaults in the worker), through
    the generated dataclass; `args` override keys of `args` by their JSON names."""
    base_args = {"batchSize": 2, "gradientAccumulationSteps": 1, "epochs": 2, "learningRate": 1e-2, "lrScheduler": "linear",
                 "warmupSteps": 1, "warmupRatio": 0, "optimizer": "adamw_torch", "weightDecay": 0.0, "adamBeta1": 0.9,
                 "adamBeta2": 0.999, "adamEpsilon": 1e-8, "maxGradNorm": 1.0, "groupByLength": False, "shuffle": True, "evalEvery": "epoch",
                 "saveEvery": "never", "keepCheckpoints": 10, "seed": 7, "logEvery": 1}
    base_args.update(args)
    return TrainParams.from_json({
        "model": {"id": "tiny", "family": "mistral", "revision": "main", "dtype": "float32", "gradientCheckpointing": False},
        "tokens": {"chatml": False, "add": [], "addBos": True},
        "method": {"kind": "lora", "rank": 4, "alpha": 8, "dropout": 0.0, "targetModules": ["q_proj", "v_proj"], "modulesToSave": [],
                   "trainableTokens": False, "rsLora": False, "useDora": False, "init": "default", "initLoraWeights": True},
        "args": base_args, "backend": "torch", "device": "cpu",
    })


def merge_params() -> MergeParams:
    return MergeParams.from_json({"maxShardSize": "5GB", "dtype": "float32", "quantized": False, "backend": "torch"})


def generate_params(samples: list[str], max_new_tokens: int) -> GenerateParams:
    return GenerateParams.from_json({"samples": samples, "maxNewTokens": max_new_tokens})


def eval_params() -> EvalParams:
    return EvalParams.from_json({"backend": "torch", "device": "cpu", "dtype": "float32"})


class Fixture:
    def __init__(self, root: Path, rows: int = 2, accum: int = 1, epochs: int = 2, max_steps: int | None = None, added=()):
        self.root = root
        self.model = root / "model"
        self.tokenize = root / "tokenize"
        self.split = root / "split"
        self.collate = root / "collate"
        make_model(self.model)
        make_tokenizer(self.tokenize / "tokenizer", added)
        (self.tokenize / "chat_template.jinja").write_text("{{ messages }}")
        self.train_samples = random_samples(8, 1)
        # the tokenize artifact's index: its shards and the trainable token ids it resolved
        make_shards(self.tokenize, self.train_samples, trainableTokenIds=[])
        self.eval_samples = random_samples(2, 2)
        make_shards(self.split / "train", self.train_samples)
        make_shards(self.split / "eval", self.eval_samples)
        self.plan = make_plan(self.collate, [len(s[0]) for s in self.train_samples], [len(s[0]) for s in self.eval_samples],
                              rows=rows, accum=accum, epochs=epochs, max_steps=max_steps)

    def spec(self, name: str, kind: str = "train", params: Params | None = None, extra_inputs: dict | None = None, **top) -> Path:
        folders = {"model": self.model, "tokenize": self.tokenize, "split": self.split, "collate": self.collate, **(extra_inputs or {})}
        inputs = {k: {"kind": k, "dir": str(v)} for k, v in folders.items()}
        spec = {"version": 1, "node": {"id": kind, "kind": kind, "key": "k-" + name, "params": (params or train_params()).to_json()},
                "inputs": inputs, "outDir": str(self.root / name / "out"), "workDir": str(self.root / name / "work"),
                "device": "cpu", **top}
        path = self.root / f"{name}.json"
        path.write_text(json.dumps(spec))
        return path


@pytest.fixture
def fixture(tmp_path: Path) -> Fixture:
    return Fixture(tmp_path)


def driver_metadata(fx: Fixture, out: Path, params: TrainParams | None = None) -> list[str]:
    """What the TS driver writes beside a train node's tensors (packages/torch/src/metadata.ts, from
    @tunekit/hf): adapter_config.json (here PEFT's own, from the node's method) and the tokenize
    artifact's tokenizer/ and chat_template.jinja. Returns the files the worker itself wrote."""
    import shutil

    from tunekit_torch.modeling import lora_config

    written = sorted(p.name for p in out.iterdir())
    method = (params or train_params()).method
    if method.kind == "lora":
        lora_config(method, str(fx.model), []).save_pretrained(str(out))
    shutil.copytree(fx.tokenize / "tokenizer", out / "tokenizer", dirs_exist_ok=True)
    shutil.copy(fx.tokenize / "chat_template.jinja", out / "chat_template.jinja")
    return written


def merged_metadata(fx: Fixture, out: Path) -> list[str]:
    """What the TS driver writes beside the merged safetensors: here the base's config.json and the
    tokenizer files (the fixture adds no tokens). Returns the files the worker itself wrote."""
    import shutil

    written = sorted(p.name for p in out.iterdir())
    shutil.copy(fx.model / "config.json", out / "config.json")
    for f in (fx.tokenize / "tokenizer").iterdir():
        shutil.copy(f, out / f.name)
    return written
