import { z } from 'zod'
import { galoreSchema } from './galore.ts'

const cadence = z.union([z.number().int().positive(), z.enum(['epoch', 'never'])])

export const argsSchema = z.strictObject({
  /**
   * Samples per micro-batch on one device. Activation memory grows linearly with it.
   * @defaultValue 8
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.per_device_train_batch_size
   */
  batchSize: z.number().int().positive().default(8),
  /**
   * Micro-batches accumulated per optimiser step: the effective batch is batchSize × this, at the
   * activation memory of one micro-batch.
   * @defaultValue 1
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.gradient_accumulation_steps
   */
  gradientAccumulationSteps: z.number().int().positive().default(1),
  /**
   * Passes over the training set. Ignored when maxSteps is set. More epochs fit the data more
   * closely (and may overfit); no memory effect.
   * @defaultValue 3
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.num_train_epochs
   */
  epochs: z.number().positive().default(3),
  /**
   * Total optimiser steps; overrides epochs when set. No memory effect.
   * @defaultValue undefined (from epochs)
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.max_steps
   */
  maxSteps: z.number().int().positive().optional(),
  /**
   * Peak learning rate of the adapter (and saved modules). QLoRA uses 2e-4 for 7B–13B models.
   * @defaultValue 5e-5
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.learning_rate
   */
  learningRate: z.number().positive().max(1).default(5e-5),
  /**
   * Learning-rate schedule after warmup; decaying schedules usually end at a lower loss than
   * `'constant'`. No memory effect.
   * @defaultValue 'linear'
   * @see https://huggingface.co/docs/transformers/main_classes/optimizer_schedules#transformers.SchedulerType
   */
  lrScheduler: z.enum(['constant', 'constant_with_warmup', 'linear', 'cosine']).default('linear'),
  /**
   * Steps of linear warmup from 0 to learningRate; overrides warmupRatio when set. Warmup avoids
   * early loss spikes at high learning rates; no memory effect.
   * @defaultValue 0
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.warmup_steps
   */
  warmupSteps: z.number().int().nonnegative().default(0),
  /**
   * Share of all steps spent in warmup (QLoRA uses 0.03); steadies the first steps, no memory effect.
   * @defaultValue 0
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.warmup_ratio
   */
  warmupRatio: z.number().min(0).max(1).default(0),
  /**
   * Optimiser. AdamW keeps two float32 states per trainable parameter (8 bytes); paged variants
   * page those states to CPU memory under pressure (torch + bitsandbytes); SGD keeps none;
   * `galore_adamw` keeps the targeted weights' states in a low-rank projection (torch + galore-torch, `args.galore`).
   * @defaultValue 'adamw_torch'
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.optim
   */
  optimizer: z.enum(['adamw_torch', 'adamw', 'paged_adamw_32bit', 'paged_adamw_8bit', 'adamw_8bit', 'sgd', 'galore_adamw']).default('adamw_torch'),
  /**
   * GaLore's settings, read with `optimizer: 'galore_adamw'` (transformers' `optim_target_modules` and
   * `optim_args`). A lower rank: less optimizer memory for the targeted weights.
   * @defaultValue undefined (transformers' defaults: all-linear, rank 128, gap 200, scale 0.25, std)
   * @see https://arxiv.org/abs/2403.03507 (GaLore)
   */
  galore: galoreSchema.optional(),
  /**
   * Decoupled weight decay of AdamW (Loshchilov & Hutter): regularises the adapter on small data
   * sets. No memory effect.
   * @defaultValue 0
   * @see https://arxiv.org/abs/1711.05101
   */
  weightDecay: z.number().min(0).default(0),
  /**
   * AdamW β1, the decay of the gradient's running mean; lower reacts faster, noisier. No memory effect.
   * @defaultValue 0.9
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.adam_beta1
   */
  adamBeta1: z.number().min(0).lt(1).default(0.9),
  /**
   * AdamW β2, the decay of the squared gradient's running mean (QLoRA uses 0.999). No memory effect.
   * @defaultValue 0.999
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.adam_beta2
   */
  adamBeta2: z.number().min(0).lt(1).default(0.999),
  /**
   * AdamW ε, added to the denominator for numerical stability. No memory or quality effect at
   * sensible values.
   * @defaultValue 1e-8
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.adam_epsilon
   */
  adamEpsilon: z.number().positive().default(1e-8),
  /**
   * Clip the global gradient norm to this value; `0` disables clipping. Clipping guards against
   * loss spikes (QLoRA uses 0.3); no memory effect.
   * @defaultValue 1
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.max_grad_norm
   */
  maxGradNorm: z.number().min(0).default(1),
  /**
   * Batch samples of similar length together: less padding, faster epochs; order stays seeded.
   * Samples are sorted by length within megabatches of 50 × batchSize (transformers'
   * LengthGroupedSampler), so a data set under 50 batches gives the same batches, in the same
   * order, every epoch: a small model can learn those batches by heart (hotel-tools' held-out
   * slot F1 rose from 91.9 to 98.5 with this off).
   * @defaultValue false
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.group_by_length
   */
  groupByLength: z.boolean().default(false),
  /**
   * Shuffle the training samples each epoch (seeded by `seed` + epoch); `false` keeps the order of
   * the data files, e.g. to reproduce another trainer's run batch for batch. No memory effect;
   * unshuffled data sorted by topic or length can hurt quality.
   * @defaultValue true (false with stage kto: its KL pairs are fixed in record order, as TRL's KTOConfig samples sequentially)
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.Trainer.get_train_dataloader (RandomSampler vs SequentialSampler)
   */
  shuffle: z.boolean().default(true),
  /**
   * Evaluate every N steps, once per `'epoch'`, or `'never'`. Evaluation costs time, not memory
   * beyond one eval batch.
   * @defaultValue 'epoch'
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.eval_strategy
   */
  evalEvery: cadence.default('epoch'),
  /**
   * Checkpoint every N steps, once per `'epoch'`, or `'never'` (the final adapter is always saved).
   * @defaultValue 'epoch'
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.save_strategy
   */
  saveEvery: cadence.default('epoch'),
  /**
   * Checkpoints kept on disk; older ones are deleted. Each costs disk for the adapter and its
   * optimizer states, not memory.
   * @defaultValue 2
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.save_total_limit
   */
  keepCheckpoints: z.number().int().positive().default(2),
  /**
   * Seed of adapter initialisation, dropout and data order: the same seed gives the same run.
   * No memory effect.
   * @defaultValue 42
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.seed
   */
  seed: z.number().int().nonnegative().default(42),
  /**
   * Report loss, learning rate and throughput every N steps. No memory or quality effect.
   * @defaultValue 10
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.logging_steps
   */
  logEvery: z.number().int().positive().default(10),
  /**
   * Padding-free micro-batches on the torch backend: each micro-batch's samples are laid end to end
   * in one row with position ids restarting at 0 per sample, so no padding token is computed
   * (FlashAttention-2's varlen kernel when flash-attn is installed; on CPU, SDPA one sample at a
   * time; on CUDA without it, SDPA under the block-diagonal mask built from the position ids).
   * Losses are the padded run's; activation memory scales with real tokens instead of rows × the
   * longest row. Unset, it is on for a text model under SDPA in one CPU process (the torch
   * worker's speed.py) and off elsewhere; `false` keeps the padded rows.
   * @defaultValue undefined (on for torch on the CPU, off elsewhere)
   * @see https://huggingface.co/docs/trl/sft_trainer#padding-free
   */
  paddingFree: z.boolean().optional(),
  /**
   * Compute the cross-entropy from the last hidden state in chunks of tokens (Liger's fused
   * linear-cross-entropy kernel when liger-kernel is installed on CUDA), so the [tokens × vocab]
   * logits are never held whole: for a 32k vocabulary that saves 4 × 32 000 bytes per labelled
   * token and more per token of the batch. Same losses and gradients; torch backend only. Unset,
   * it is on in one CPU process where the model's lm_head is a plain Linear (the head and its
   * cross-entropy are most of a CPU step for a 32k vocabulary) and off elsewhere; `false` keeps the
   * whole logits.
   * @defaultValue undefined (on for torch on the CPU, off elsewhere)
   * @see https://github.com/linkedin/Liger-Kernel#high-level-apis (fused_linear_cross_entropy)
   */
  chunkedLoss: z.boolean().optional(),
  /**
   * Compile the model's forward and backward with `torch.compile` (inductor) on the torch backend:
   * fused kernels, usually faster steps after a first compilation (seconds to minutes, again for
   * each new batch shape), same losses. Needs a C++ compiler on CPU, Triton on CUDA.
   * @defaultValue false
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.torch_compile
   */
  torchCompile: z.boolean().optional(),
})

export type ArgsInput = z.input<typeof argsSchema>
export type ArgsOptions = z.output<typeof argsSchema>
