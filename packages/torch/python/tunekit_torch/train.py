"""The train node: the recipe's method (methods.py: LoRA via PEFT, full, freeze) on transformers over
the token shards, following the batch plan.

Loss of an optimiser step = sum of token cross-entropies over all its micro-batches / trained
tokens of all its micro-batches (docs/architecture.md), so accumulation equals one big batch.
"""

from __future__ import annotations

import contextlib
import math
import signal
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from . import EXIT_INTERRUPTED
from .chunked_loss import head_loss_sum, release_scratch
from .checkpoint import list_checkpoints, load_checkpoint, load_moments, load_trained, save_checkpoint
from .distributed import Dist, full_params, no_sync
from . import distributed
from .events import WorkerError, emit, info, log, process_rss, warn
from .modeling import (
    attention_kind,
    count_params,
    load_base,
    load_tokenizer,
    quantization_config,
    resize_embeddings,
    resolve_device,
    resolve_dtype,
    unwrapped,
)
from .methods import METHODS, virtual_tokens
from .vision import forward_inputs, model_type, mrope_positions
from .moe_loss import router_aux_coef, router_aux_term
from .optim import loraplus_ratio, lr_factor, make_optimizer, set_lr
from .shards import build_batch, open_shards, read_plan, schedule_steps, trained_tokens
from .params import TrainParams
from .spec import NodeSpec, model_folder, write_json_atomic
from .segment_attention import NAME as SEGMENT_ATTENTION, decoder_attention, use_segment_attention
from .speed import Speed, compile_errors, compiled, resolve_speed


class Interrupt:
    """SIGINT/SIGTERM from the driver: finish the current step, checkpoint, exit 75."""

    def __init__(self) -> None:
        self.requested = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:
        # Only set the flag: a handler runs between bytecodes of the main thread, possibly while
        # it holds the output lock, so logging from here could deadlock.
        self.requested = True


NO_POSITIONS = torch.empty(0, dtype=torch.long)  # logits_to_keep: the model runs without its lm_head


def token_loss_sum(model, batch: dict, autocast, chunked: bool = False, training: bool = False) -> tuple[torch.Tensor, int]:
    """Sum of next-token cross-entropy over the labelled positions (float32 tensor, left on the
    device: reading it would wait for the GPU), and their count (counted on the host). `chunked`
    (args.chunkedLoss): from the last hidden state at the labelled positions only, a chunk of
    tokens at a time (chunked_loss.py), never the whole logits. In `training`, a mixture of experts
    adds its router load-balancing term (moe_loss.py)."""
    # prompt tuning, P-tuning: PEFT drops position ids (counting from 0 over the virtual tokens too)
    # and its logits start with the virtual positions, which are no row's tokens; prefix tuning
    # (virtual_tokens 0) takes the position ids and shifts them by n, after its cached prefix
    prefix = virtual_tokens(model)
    aux = training and router_aux_coef(model) > 0
    extra = {"logits_to_keep": NO_POSITIONS.to(batch["input_ids"].device), "output_hidden_states": True} if chunked else {}
    if aux:
        extra["output_router_logits"] = True
    if batch.get("cu_seq_lens") is not None and decoder_attention(model) in ("flash_attention_2", SEGMENT_ATTENTION):
        # a padding-free row's sample boundaries for the varlen kernel, built on the host (TRL's
        # DataCollatorForLanguageModeling passes the same): without them every layer derives them
        # from the device position ids, a GPU wait each; the segment attention needs them
        cu, longest = batch["cu_seq_lens"], batch["max_length"]
        extra.update(cu_seq_lens_q=cu, cu_seq_lens_k=cu, max_length_q=longest, max_length_k=longest)
    # a vision-language model's images (pixel_values, Qwen2-VL's image_grid_thw); Qwen2-VL's 3-D M-RoPE
    # positions come from the image tokens, per packed segment (vision.py's mrope_positions)
    vision = forward_inputs(unwrapped(model), batch)
    positions = batch["position_ids"]
    if model_type(unwrapped(model)) == "qwen2_vl":
        positions = mrope_positions(unwrapped(model), batch)
    with autocast():
        out = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            position_ids=None if prefix else positions,
            use_cache=False,
            **vision,
            **extra,
        )
        if chunked:
            loss = head_loss_sum(model, out.hidden_states[-1][:, prefix:], batch["labels"], batch["label_index"])
    if not chunked:
        logits = out.logits[:, prefix:].float()  # [rows, length, vocab]
        labels = batch["labels"]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="sum")
    count = int(batch["label_count"])
    if aux and count > 0:
        # prompt tuning: PEFT's attention mask counts the virtual tokens, which lead every row
        mask = batch["token_mask"]
        if prefix:
            mask = torch.cat([torch.ones(mask.shape[0], prefix, dtype=mask.dtype, device=mask.device), mask], dim=1)
        loss = loss + router_aux_term(model, out, mask, count)
    return loss, count


def grad_norm(params, max_norm: float) -> torch.Tensor:
    """The gradients' global L2 norm (left on the device), clipped to `max_norm` in place when it is > 0
    (clip_grad_norm_). Clipping before the finiteness check is harmless: a non-finite step discards them.
    FSDP's sharded gradients: clip_grad_norm_ reduces the shards' norms over the ranks (with an
    infinite bound when nothing is clipped: a scale of exactly 1), and the norm comes back whole."""
    from torch.distributed.tensor import DTensor

    from .distributed import full_tensor

    if max_norm > 0 or any(isinstance(p, DTensor) for p in params):
        return full_tensor(torch.nn.utils.clip_grad_norm_(params, max_norm if max_norm > 0 else math.inf))
    return torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params if p.grad is not None]))


def optimizer_update(optimizer, step_loss: float, step: int, checkpoint=None) -> None:
    """Applies step `step`'s gradients (1-based). A non-finite loss discards them, checkpoints the
    last good state when `checkpoint` is given, and fails with NonFiniteLoss."""
    if not math.isfinite(step_loss):
        optimizer.zero_grad(set_to_none=True)
        if checkpoint is not None:
            checkpoint()
        raise WorkerError("NonFiniteLoss", f"the loss at step {step} is {step_loss}", args=[step, step_loss])
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def resumable(spec: NodeSpec, model, optimizer, method, total: int, extra=None):
    """The trainer state of a one-process loop (the preference stages, GRPO, PPO), from the work folder's
    last checkpoint when there is one, with `snapshot()` (what a checkpoint records) and
    `checkpoint()` (writes one and says so; `extra(folder)` adds a stage's own files to it)."""
    seed = spec.params.args.seed
    state = {"step": 0, "epoch": 0.0, "microBatch": 0, "lossHistory": [], "evalHistory": []}
    spec.work_dir.mkdir(parents=True, exist_ok=True)
    found = list_checkpoints(spec.work_dir)
    if found:
        loaded = load_checkpoint(found[-1][1], model, optimizer, spec.node, method)
        if loaded.get("recipeKey") not in (None, spec.key):
            warn(spec.node, f"{found[-1][1].name} belongs to another recipe key; resuming its weights anyway")
        state.update(loaded)
        info(spec.node, f"resuming from {found[-1][1]} at step {state['step']}")

    def snapshot() -> dict:
        return {**state, "rng": {"seed": seed, "scheme": "seed+step"}, "recipeKey": spec.key, "backend": "torch", "totalSteps": total}

    def checkpoint() -> None:
        path = save_checkpoint(spec.work_dir, model, optimizer, snapshot(), spec.params.args.keep_checkpoints, method, extra=extra)
        emit({"type": "checkpoint", "node": spec.node, "step": state["step"], "path": str(path)})

    return state, snapshot, checkpoint


def train_start(spec: NodeSpec, device: torch.device | None = None) -> tuple[torch.device, torch.dtype, Interrupt]:
    """What every training loop sets up first: the device (the launcher's under torchrun), the model's
    dtype on it, the Ctrl-C handler, and deterministic kernels on CPU (the bit-exact resume)."""
    device = device or resolve_device(spec.device)
    dtype = resolve_dtype(spec.params.model.dtype, device, spec.node)
    interrupt = Interrupt()
    torch.use_deterministic_algorithms(device.type == "cpu", warn_only=True)
    # Deterministic mode also fills every new tensor with NaN (a debugging aid, not part of the
    # determinism: no kernel reads memory before writing it); on CPU that is a write pass over each
    # activation and logits buffer of every step, so the fill is off and the algorithms stay.
    torch.utils.deterministic.fill_uninitialized_memory = False
    return device, dtype, interrupt


def cadence_hit(every: int | str, step: int, epoch_end: bool) -> bool:
    if every == "never":
        return False
    if every == "epoch":
        return epoch_end
    return step % int(every) == 0


def evaluate_sum(model, shards, micro_batches, device, autocast, dist: Dist | None = None, speed: Speed | None = None) -> tuple[float, int]:
    """Sum of token cross-entropies over the eval micro-batches, and the labelled tokens they hold
    (under torchrun each rank computes its share and the sums are added over the ranks)."""
    dist, speed = dist or Dist(), speed or Speed()
    was_training = model.training
    model.eval()
    # float64 on the device: the same sum as adding the float32 losses as Python floats, read once
    sums = torch.zeros(2, dtype=torch.float64, device=device)  # [loss sum, labels]
    with torch.no_grad():
        for mb, weight in dist.share(micro_batches):
            loss, n = token_loss_sum(model, build_batch(shards, mb, device, speed.padding_free), autocast, speed.chunked_loss)
            sums += torch.stack([loss.double(), torch.tensor(float(n), dtype=torch.float64, device=device)]) * weight
    model.train(was_training)
    total, count = dist.all_sum(sums).tolist()
    return total, int(count)


def evaluate(model, shards, micro_batches, device, autocast, dist: Dist | None = None, speed: Speed | None = None) -> float | None:
    """Mean eval loss, or None without eval data."""
    if shards is None or not micro_batches:
        return None
    total, count = evaluate_sum(model, shards, micro_batches, device, autocast, dist, speed)
    return total / count if count else None


def build_model(spec: NodeSpec, device: torch.device, dtype: torch.dtype, packed: bool = False, reward_pad_id: int | None = None):
    """Base model (quantised when possible), resized embeddings, then the method (methods.py).
    `packed`: some row holds several segments as a 4-D mask (not padding-free: see attention_kind).
    `reward_pad_id`: the reward model's base, AutoModelForSequenceClassification with one label,
    reading each row's score at its last token that is not this id."""
    from peft import prepare_model_for_kbit_training

    params: TrainParams = spec.params
    model_p, method, args = params.model, params.method, params.args
    tokenize = spec.require_input("tokenize")
    tokenizer = load_tokenizer(tokenize / "tokenizer")
    # LoftQ: PEFT's loftq_init quantises the full-precision weights itself ("you should not pass a quantized
    # model", LoraConfig.loftq_config), so the base loads unquantised and its adapted weights become Q(W - B0·A0)
    loftq = getattr(method, "init_lora_weights", None) == "loftq"
    quant = None if loftq else quantization_config(model_p.quantize, device, dtype, spec.node)
    attention = attention_kind(device, dtype, packed)
    base = load_base(model_folder(spec.require_input("model")), dtype, device, quant, attention, reward_pad_id)
    info(spec.node, f"attention: {attention}")
    resize_embeddings(base, len(tokenizer), spec.node)
    checkpointing = model_p.gradient_checkpointing
    if quant is not None:
        base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=checkpointing)
    elif checkpointing:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        base.enable_input_require_grads()
    torch.manual_seed(args.seed)
    base._tunekit_model_id = model_p.id
    ctx = {"model_id": model_p.id, "family": model_p.family, "vision": model_p.vision, "tokenize": tokenize, "initial_adapter": spec.initial_adapter, "node": spec.node}
    model = METHODS[method.kind].wrap(base, method, ctx)
    return model, tokenizer, quant


def run_train(spec: NodeSpec) -> None:
    """The SFT / pretrain train node, in one process or as one rank under torchrun (distributed.py)."""
    dist, device = distributed.start(spec.distributed_strategy, resolve_device(spec.device))
    try:
        train_loop(spec, dist, device)
    finally:
        release_scratch()
        distributed.stop(dist)


def train_loop(spec: NodeSpec, dist: Dist, device: torch.device) -> None:
    params: TrainParams = spec.params
    args = params.args
    device, dtype, interrupt = train_start(spec, device)

    plan = read_plan(spec.require_input("collate"))
    split = spec.require_input("split")
    train_shards = open_shards(split / "train")
    eval_shards = open_shards(split / "eval") if (split / "eval" / "index.json").exists() else None
    steps = schedule_steps(plan)
    total = len(steps)

    packed = any(len(row) > 1 for ep in plan["epochsPlan"] for mb in ep["microBatches"] for row in mb["rows"])
    # padding-free rows carry no 4-D mask, so FlashAttention-2 takes packed plans too
    model, tokenizer, quant = build_model(spec, device, dtype, packed and not args.padding_free)
    speed = resolve_speed(args, model, device, spec.node, dist.on)
    if speed.segments:
        use_segment_attention(unwrapped(model))
    method = METHODS[params.method.kind]
    state = {"step": 0, "epoch": 0.0, "microBatch": 0, "lossHistory": [], "evalHistory": []}
    if dist.main:
        spec.work_dir.mkdir(parents=True, exist_ok=True)
    found = list_checkpoints(spec.work_dir)
    if found:
        # whole tensors into the unwrapped model on every rank, before DDP copies or FSDP shards it
        step_found, folder = found[-1]
        loaded = load_trained(folder, model, spec.node, method)
        if loaded.get("recipeKey") not in (None, spec.key):
            warn(spec.node, f"{folder.name} belongs to another recipe key; resuming its weights anyway")
        state.update(loaded)
        info(spec.node, f"resuming from {folder} at step {state['step']} (written by {loaded.get('backend', '?')})")
    forward_model = compiled(distributed.wrap(model, dist, device), speed, spec.node)
    optimizer, opt_name = make_optimizer(model, args, device, spec.node, loraplus_ratio(params.method))
    if found:
        load_moments(found[-1][1], optimizer, method.keyed_params(model), float(state["step"]))
    factor = lr_factor(args, total)
    base_lr = args.learning_rate
    trainable, all_params = count_params(model)
    procs = f" × {dist.world} processes ({dist.strategy})" if dist.on else ""
    info(spec.node, f"torch {torch.__version__} on {device.type}{procs}, {str(dtype).replace('torch.', '')} weights"
         f"{', 4-bit' if quant is not None and getattr(quant, 'load_in_4bit', False) else ''}; {opt_name}; "
         f"{trainable:,} trainable of {all_params:,} parameters; {total} steps")

    # bf16/fp16 autocast on CUDA; float32 (no autocast) on CPU so the two backends agree.
    amp = device.type == "cuda" and dtype in (torch.bfloat16, torch.float16)
    autocast = (lambda: torch.autocast("cuda", dtype=dtype)) if amp else contextlib.nullcontext

    seed, keep, max_norm, log_every = args.seed, args.keep_checkpoints, args.max_grad_norm, args.log_every

    def snapshot() -> dict:
        return {**state, "rng": {"seed": seed, "scheme": "seed+step"}, "recipeKey": spec.key, "backend": "torch",
                "totalSteps": total}

    def checkpoint() -> None:
        path = save_checkpoint(spec.work_dir, model, optimizer, snapshot(), keep, method, dist)
        emit({"type": "checkpoint", "node": spec.node, "step": state["step"], "path": str(path)})

    forward_model.train()
    window_tokens, window_start, run_start = 0, time.perf_counter(), time.perf_counter()
    done_at_start = int(state["step"])
    trainable_params = [p for g in optimizer.param_groups for p in g["params"]]
    per_epoch = int(plan["stepsPerEpoch"])
    micro_done = sum(len(s[2]) for s in steps[:done_at_start])  # micro-batches before this step

    def step_batches(i: int) -> list[tuple[dict, float]]:
        """This rank's micro-batches of step i on the device, with their weights (host work: numpy
        reads, queued copies); all of them in one process."""
        return [(build_batch(train_shards, mb, device, speed.padding_free), weight) for mb, weight in dist.share(steps[i][2])]

    upcoming = None  # step index+1's batches, built while the GPU still runs step index
    stop_requested = False
    for index in range(done_at_start, total):
        if stop_requested:
            break
        epoch, first, micro_batches = steps[index]
        # Dropout and any other randomness of step s are drawn from seed + s, so a resumed run
        # repeats exactly what an uninterrupted one does.
        torch.manual_seed(seed + index)
        lr = base_lr * factor(index)
        set_lr(optimizer, lr)
        batches = upcoming if upcoming is not None else step_batches(index)
        # labels of all the step's micro-batches, every rank's (each reads the whole plan), counted on the host
        step_tokens = sum(trained_tokens(train_shards, mb) for mb in micro_batches)
        # The micro-batch losses stay on the device (float64: the same sum as adding them as Python
        # floats); the host reads the step's loss and gradient norm in one transfer below, the only
        # point per optimiser step where it waits for the GPU.
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for k, (batch, weight) in enumerate(batches):
            with no_sync(forward_model, dist, last=k == len(batches) - 1), compile_errors():
                loss, _ = token_loss_sum(forward_model, batch, autocast, speed.chunked_loss, training=True)
                # × world under DDP/FSDP, which average the ranks' gradients: their sum is the step's
                (loss * (weight * dist.grad_scale / max(step_tokens, 1))).backward()
            loss_sum += loss.detach().double() * weight
        window_tokens += sum(int(seg["length"]) for mb in micro_batches for row in mb["rows"] for seg in row)  # real tokens, all ranks
        # the ranks' loss sums and stop requests, added in one collective (a no-op in one process)
        totals = dist.all_sum(torch.stack([loss_sum, torch.tensor(float(interrupt.requested), dtype=torch.float64, device=device)]))
        norm = grad_norm(trainable_params, max_norm)
        values = torch.stack([totals[0], totals[1], norm.detach().double()])
        upcoming = step_batches(index + 1) if index + 1 < total else None
        loss_total, stops, norm_value = values.tolist()
        stop_requested = stops > 0  # every rank stops after the same step
        step_loss = loss_total / max(step_tokens, 1)
        optimizer_update(optimizer, step_loss, index + 1, checkpoint)

        step = index + 1
        micro_done += len(micro_batches)
        epoch_end = step % per_epoch == 0 or step == total
        state["step"] = step
        state["epoch"] = step / per_epoch  # fractional epochs done (TrainerState.epoch)
        state["microBatch"] = micro_done
        state["lossHistory"].append(step_loss)
        if step % log_every == 0 or step == total or step == done_at_start + 1:
            now = time.perf_counter()
            event = {"type": "step", "node": spec.node, "step": step, "totalSteps": total, "epoch": state["epoch"],
                     "loss": step_loss, "learningRate": lr, "gradNorm": norm_value,
                     "tokensPerSecond": window_tokens / max(now - window_start, 1e-9),
                     "etaSeconds": (now - run_start) / (step - done_at_start) * (total - step), "rssBytes": process_rss()}
            if device.type == "cuda":
                event["memoryBytes"] = int(torch.cuda.max_memory_allocated())
            emit(event)
            window_tokens, window_start = 0, now
        if cadence_hit(args.eval_every, step, epoch_end):
            eval_loss = evaluate(forward_model, eval_shards, plan["eval"]["microBatches"], device, autocast, dist, speed)
            if eval_loss is not None:
                state["evalHistory"].append({"step": step, "loss": eval_loss})
                emit({"type": "eval", "node": spec.node, "step": step, "epoch": state["epoch"], "loss": eval_loss})
        if cadence_hit(args.save_every, step, epoch_end) and step < total:
            checkpoint()

    interrupt.requested = interrupt.requested or stop_requested
    finish(interrupt, state, total, checkpoint, lambda: write_outputs(spec, model, tokenizer, snapshot(), method, dist))


def finish(interrupt, state: dict, total: int, checkpoint, write) -> None:
    """The end of a training loop (SFT, pretrain, DPO): stopped early by a signal, checkpoint the
    step reached (if any) and exit 130; else `write` the node's outputs."""
    if interrupt.requested and state["step"] < total:
        log(f"interrupted: checkpointing at step {state['step']}")
        if state["step"] > 0:
            checkpoint()
        raise SystemExit(EXIT_INTERRUPTED)
    write()


def write_outputs(spec: NodeSpec, model, tokenizer, state: dict, method, dist: Dist | None = None) -> None:
    """The method's tensors (a PEFT adapter's adapter_model.safetensors for LoRA) and trainer_state.json
    into outDir, by rank 0 alone under torchrun (every rank takes part in gathering FSDP's shards).
    The metadata (adapter_config.json, tokenizer/, chat_template.jinja) is written by the TS driver
    through @tunekit/hf, the same bytes as the tfjs backend's."""
    dist = dist or Dist()
    with full_params(model, dist):
        if dist.main:
            out = spec.out_dir
            out.mkdir(parents=True, exist_ok=True)
            method.save(model, out, tensors_only=True)
            write_json_atomic(out / "trainer_state.json", state)
    dist.barrier()
