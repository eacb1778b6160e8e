import { z } from 'zod'
import { orpoStageSchema } from './stage-orpo.ts'
import { simpoStageSchema } from './stage-simpo.ts'
import { ktoStageSchema } from './stage-kto.ts'
import { rmStageSchema } from './stage-rm.ts'
import { grpoStageSchema } from './stage-grpo.ts'
import { ppoStageSchema } from './stage-ppo.ts'

export const sftStageSchema = z.strictObject({
  /**
   * Supervised fine-tuning: conversations rendered by `data.template`, loss on the turns
   * `data.mask` picks. No memory effect by itself.
   * @defaultValue 'sft'
   * @see https://huggingface.co/docs/trl/sft_trainer
   */
  kind: z.literal('sft'),
})

export const pretrainStageSchema = z.strictObject({
  /**
   * Continued pretraining on raw text (`data.format: 'text'`): no chat template, eos appended to
   * every document, every token trained, documents packed by default. No memory effect by itself.
   * @defaultValue (required) `'pretrain'`
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/examples/README.md (stage: pt)
   */
  kind: z.literal('pretrain'),
})

export const dpoStageSchema = z.strictObject({
  /**
   * Direct Preference Optimization on preference pairs (TRL's `DPOTrainer`): the policy's log-ratio
   * of chosen over rejected, against a reference model's, computed once by the `ref-logprobs` node
   * (with LoRA the base with the adapter off, so no second copy sits in memory).
   * @defaultValue (required) `'dpo'`
   * @see https://huggingface.co/docs/trl/dpo_trainer
   */
  kind: z.literal('dpo'),
  /**
   * β, the strength of the implicit KL penalty (TRL's `beta`): higher keeps the policy closer to
   * the reference, lower lets it move further. With `lossType: 'ipo'` it is IPO's τ. No memory effect.
   * @defaultValue 0.1
   * @see https://huggingface.co/docs/trl/dpo_trainer#trl.DPOConfig (beta)
   */
  beta: z.number().positive().default(0.1),
  /**
   * The preference loss (TRL's `loss_type`): `'sigmoid'` (DPO's −log σ(β·margin)), `'ipo'` (IPO's
   * squared loss on length-averaged log-probabilities), `'hinge'` (SLiC's max(0, 1 − β·margin)),
   * `'robust'` (Robust DPO: the sigmoid loss corrected for labels flipped with probability
   * `labelSmoothing`). No memory effect.
   * @defaultValue 'sigmoid'
   * @see https://huggingface.co/docs/trl/dpo_trainer#loss-functions (loss_type)
   */
  lossType: z.enum(['sigmoid', 'ipo', 'hinge', 'robust']).default('sigmoid'),
  /**
   * Robust DPO's ε (TRL's `label_smoothing`): the probability that a pair's preference label is
   * flipped, in [0, 0.5); as in TRL 1.x only `lossType: 'robust'` reads it. No memory effect.
   * @defaultValue 0
   * @see https://huggingface.co/docs/trl/dpo_trainer#trl.DPOConfig (label_smoothing)
   */
  labelSmoothing: z.number().min(0).lt(0.5).default(0),
})

export const qaStageSchema = z.strictObject({
  /**
   * Extractive question answering on an encoder (`model.family: 'bert'`, `data.format: 'squad'`):
   * start/end logits over the context's tokens, the loss transformers' BertForQuestionAnswering
   * computes, answers post-processed as its question-answering pipeline does. No memory effect by itself.
   * @defaultValue (required) `'qa'`
   * @see https://github.com/huggingface/transformers/blob/main/examples/pytorch/question-answering/run_qa.py
   */
  kind: z.literal('qa'),
  /**
   * Tokens two windows of one long context overlap by (`data.maxLength` is the window, specials
   * included). A larger stride gives more windows (more compute per epoch) and fewer answers cut
   * at a window's edge; no effect on peak memory. Must be smaller than the context room of a window.
   * @defaultValue 128
   * @see https://github.com/huggingface/transformers/blob/main/examples/pytorch/question-answering/run_qa.py (doc_stride)
   */
  docStride: z.number().int().min(0).default(128),
  /**
   * Longest answer, in tokens, that post-processing may return. Longer spans are never picked,
   * so a value below the data's longest answer caps exact match; no memory effect.
   * @defaultValue 30
   * @see https://github.com/huggingface/transformers/blob/main/examples/pytorch/question-answering/run_qa.py (max_answer_length)
   */
  maxAnswerLength: z.number().int().min(1).default(30),
  /**
   * SQuAD v2.0 data: questions may have no answer (the model then points at [CLS]) and the null
   * answer competes with spans when scoring. With `false` an unanswerable question is an error
   * (SQuAD v1.1). No memory effect.
   * @defaultValue false
   * @see https://github.com/huggingface/transformers/blob/main/examples/pytorch/question-answering/run_qa.py (version_2_with_negative)
   */
  version2WithNegative: z.boolean().default(false),
})

/** The training stage: a discriminated union on `kind` (one member per file in core/src/stages/). */
export const stageSchema = z.discriminatedUnion('kind', [sftStageSchema, pretrainStageSchema, dpoStageSchema, orpoStageSchema, simpoStageSchema, rmStageSchema, qaStageSchema, ktoStageSchema, grpoStageSchema, ppoStageSchema])

/** The options of `stage: { kind: 'dpo' }`, resolved. */
export type DpoStageOptions = z.output<typeof dpoStageSchema>

export type StageOptions = z.output<typeof stageSchema>
export type StageKind = StageOptions['kind']

/**
 * The data keys whose default depends on the stage, as their TSDoc `@defaultValue` says:
 * `parseRecipe` fills the ones a recipe leaves out. Part of the recipe schema, next to it.
 */
export const stageDataDefaults = {
  sft: { template: 'chatml', mask: 'assistant', packing: false },
  pretrain: { mask: 'all', packing: true },
  dpo: { template: 'chatml', mask: 'assistant', packing: false },
  orpo: { template: 'chatml', mask: 'assistant', packing: false },
  simpo: { template: 'chatml', mask: 'assistant', packing: false },
  kto: { template: 'chatml', mask: 'assistant', packing: false },
  rm: { template: 'chatml', mask: 'assistant', packing: false },
  grpo: { template: 'chatml', mask: 'assistant', packing: false },
  ppo: { template: 'chatml', mask: 'assistant', packing: false },
  // qa reads no conversations: its windows are never packed and every window trains.
  qa: { mask: 'all', packing: false },
} as const satisfies Record<StageKind, { template?: 'chatml'; mask: 'all' | 'assistant'; packing: boolean }>
