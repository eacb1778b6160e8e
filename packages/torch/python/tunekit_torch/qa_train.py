"""The qa stage's train node on torch: transformers' AutoModelForQuestionAnswering (BERT), fully
fine-tuned or with LoRA, on the qa-features windows, step for step as the tfjs backend trains them.

LoRA is a plain PeftModel (get_peft_model with modules_to_save ⊇ ['qa_outputs'] and no task_type:
PEFT's QUESTION_ANS task type drops token_type_ids), started from the driver's seeded initial A/B
(qa-initial.safetensors, the tfjs draw). A checkpoint without the QA head (a pretrained encoder)
gets the driver's fresh head from the same file (its `qa_outputs.*` keys), the head tfjs draws. The artifact holds adapter/ (PEFT's layout) and,
at the top, the merged model (merge_and_unload), as the tfjs qa-train writes them.

The driver writes the plan (qa-plan.json: each step's window indices, the seeded shuffle tfjs
draws), so both backends see the same batches in the same order. A batch is padded on the right
as DataCollatorWithPadding pads it ([PAD], token type 0, mask 0). The loss is the model's own
(start and end cross-entropies averaged, positions clamped to the sequence); dropout is off
(model.eval() while training: the tfjs step runs without dropout, and parity needs the same
forward); global-norm clipping and AdamW at transformers' scheduled learning rate (optim.py).
Checkpoints every `args.saveEvery` in the shared layout (checkpoint.py: the method's tensors,
optimizer moments, trainer_state.json); a run of the same key resumes from the newest one, and a
signal from the driver checkpoints the step reached and exits 130, as the SFT loop does.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from .events import WorkerError, emit, info, warn
from .methods import Full, Lora
from .modeling import resolve_device
from .optim import loraplus_ratio, lr_factor, make_optimizer, set_lr
from .spec import NodeSpec, model_folder, write_json_atomic
from .train import Interrupt, cadence_hit, finish, grad_norm, optimizer_update


def read_features(features_dir: Path) -> tuple[list[dict], int]:
    """The training windows (ids, typeIds, startPosition, endPosition) and the tokenizer's [PAD] id."""
    lines = (features_dir / "train" / "features.jsonl").read_text().splitlines()
    tokenizer = json.loads((features_dir / "tokenizer" / "tokenizer.json").read_text())
    return [json.loads(line) for line in lines if line], int(tokenizer["model"]["vocab"].get("[PAD]", 0))


def qa_batch(rows: list[dict], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Rows padded on the right to the longest (tfjs's qaBatch), with the start/end labels."""
    seq = max(len(r["ids"]) for r in rows)
    ids = torch.full((len(rows), seq), pad_id, dtype=torch.long)
    types = torch.zeros((len(rows), seq), dtype=torch.long)
    mask = torch.zeros((len(rows), seq), dtype=torch.long)
    for b, r in enumerate(rows):
        n = len(r["ids"])
        ids[b, :n] = torch.tensor(r["ids"])
        types[b, :n] = torch.tensor(r["typeIds"])
        mask[b, :n] = 1
    starts = torch.tensor([r["startPosition"] for r in rows], dtype=torch.long)
    ends = torch.tensor([r["endPosition"] for r in rows], dtype=torch.long)
    return {k: v.to(device) for k, v in {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "start_positions": starts, "end_positions": ends}.items()}


def initial_tensors(spec: NodeSpec) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The driver's qa-initial.safetensors split into the fresh head (base names) and the LoRA A/B (PEFT keys)."""
    from safetensors.torch import load_file

    if spec.initial_adapter is None:
        return {}, {}
    tensors = load_file(str(spec.initial_adapter))
    lora = {k: v for k, v in tensors.items() if k.startswith("base_model.")}
    return {k: v for k, v in tensors.items() if k not in lora}, lora


def load_head(model, head: dict[str, torch.Tensor]) -> None:
    """Copies a fresh head into a model transformers built without it (it drew its own; tfjs draws this one)."""
    if not head:
        return
    missing, unexpected = model.load_state_dict(head, strict=False)
    if unexpected:
        raise WorkerError("WorkerFailed", f"the initial head's {sorted(unexpected)!r} match no weight of the model")


def with_lora(model, method, spec: NodeSpec, initial: dict[str, torch.Tensor]):
    """A plain PeftModel over the base, its A/B loaded from the driver's seeded initial tensors."""
    from peft import LoraConfig, get_peft_model

    if not initial:
        raise WorkerError("WorkerFailed", "a LoRA qa-train needs the driver's initial adapter (node.json initialAdapter)")
    config = LoraConfig(r=method.rank, lora_alpha=method.alpha, lora_dropout=0.0, target_modules=list(method.target_modules),
                        modules_to_save=sorted({"qa_outputs", *method.modules_to_save}), use_rslora=method.rs_lora, bias="none")
    if method.dropout > 0:
        warn(spec.node, f"lora.dropout {method.dropout}: the qa step runs without dropout on both backends (the tfjs parity)")
    model = get_peft_model(model, config)
    # PEFT keys (…lora_A.weight) → the live adapter's parameters (…lora_A.default.weight); the saved
    # modules keep their copies of the base, as the tfjs trainer starts them.
    params = dict(model.named_parameters())
    with torch.no_grad():
        for key, value in initial.items():
            name = key.replace(".lora_A.weight", ".lora_A.default.weight").replace(".lora_B.weight", ".lora_B.default.weight")
            if name not in params:
                raise WorkerError("WorkerFailed", f"the initial adapter's {key!r} matches no LoRA parameter of the model")
            params[name].copy_(value)
    return model


def run_qa_train(spec: NodeSpec) -> None:
    params = spec.params
    args = params.args
    if spec.qa_plan is None:
        raise WorkerError("WorkerFailed", "qa-train needs the driver's qa-plan.json (node.json qaPlan)")
    device = resolve_device(spec.device)
    torch.use_deterministic_algorithms(device.type == "cpu", warn_only=True)
    features, pad_id = read_features(spec.require_input("qa-features"))
    plan = json.loads(spec.qa_plan.read_text())
    steps: list[list[int]] = plan["steps"]
    per_epoch = int(plan["stepsPerEpoch"])
    total = len(steps)

    from transformers import AutoModelForQuestionAnswering

    torch.manual_seed(args.seed)
    model = AutoModelForQuestionAnswering.from_pretrained(str(model_folder(spec.require_input("model"))), torch_dtype=torch.float32, attn_implementation="eager").to(device)
    head, lora = initial_tensors(spec)
    load_head(model, head)
    if params.method.kind == "lora":
        model = with_lora(model, params.method, spec, lora)
    model.eval()  # no dropout: gradients still flow (see the module docstring)
    optimizer, opt_name = make_optimizer(model, args, device, spec.node, loraplus_ratio(params.method))
    factor = lr_factor(args, total)
    trainable = [p for g in optimizer.param_groups for p in g["params"]]
    info(spec.node, f"torch {torch.__version__} on {device.type}; {opt_name}; {sum(p.numel() for p in trainable):,} trainable parameters (full); {len(features)} windows, {per_epoch} steps/epoch, {total} steps")

    method = Lora() if params.method.kind == "lora" else Full()
    interrupt = Interrupt()
    state = {"step": 0, "epoch": 0.0, "microBatch": 0, "lossHistory": [], "evalHistory": []}
    found = list_checkpoints(spec.work_dir)
    # As the tfjs qa-train: only a checkpoint of this node's key resumes (another recipe's is ignored).
    if found and json.loads((found[-1][1] / "trainer_state.json").read_text()).get("recipeKey") == spec.key:
        state.update(load_checkpoint(found[-1][1], model, optimizer, spec.node, method))
        info(spec.node, f"resuming from {found[-1][1]} at step {state['step']}")

    def snapshot() -> dict:
        step = int(state["step"])
        return {**state, "epoch": step / per_epoch, "microBatch": step, "rng": {"seed": args.seed, "scheme": "tfjs-qa-v1: epoch order seed * 1000003 + epoch"},
                "recipeKey": spec.key, "backend": "torch"}

    def checkpoint() -> None:
        spec.work_dir.mkdir(parents=True, exist_ok=True)
        path = save_checkpoint(spec.work_dir, model, optimizer, snapshot(), args.keep_checkpoints, method)
        emit({"type": "checkpoint", "node": spec.node, "step": state["step"], "path": str(path)})

    for index in range(int(state["step"]), total):
        if interrupt.requested:
            break
        indices = steps[index]
        lr = args.learning_rate * factor(index)
        set_lr(optimizer, lr)
        rows = [features[i] for i in indices]
        start = time.perf_counter()
        loss = model(**qa_batch(rows, pad_id, device)).loss
        loss.backward()
        norm = grad_norm(trainable, args.max_grad_norm)
        value = float(loss.detach())
        optimizer_update(optimizer, value, index + 1)
        step = index + 1
        state["step"] = step
        state["lossHistory"].append(value)
        if step == 1 or step % args.log_every == 0 or step == total:
            tokens = sum(len(r["ids"]) for r in rows)  # real (unpadded) tokens of the batch
            emit({"type": "step", "node": spec.node, "step": step, "totalSteps": total, "epoch": step / per_epoch, "loss": value,
                  "learningRate": lr, "gradNorm": float(norm), "tokensPerSecond": tokens / max(time.perf_counter() - start, 1e-9)})
        if cadence_hit(args.save_every, step, step % per_epoch == 0) and step < total:
            checkpoint()

    finish(interrupt, state, total, checkpoint, lambda: write_outputs(spec, model, params.method.kind, snapshot()))


def write_outputs(spec: NodeSpec, model, method_kind: str, state: dict) -> None:
    """config.json (BertForQuestionAnswering) + model.safetensors, and for LoRA adapter/ (PEFT's
    layout) beside the merged model; the driver adds the tokenizer files."""
    out = spec.out_dir
    out.mkdir(parents=True, exist_ok=True)
    if method_kind == "lora":
        model.save_pretrained(str(out / "adapter"), safe_serialization=True)
        model = model.merge_and_unload()
    model.save_pretrained(str(out), safe_serialization=True)
    write_json_atomic(out / "trainer_state.json", state)
