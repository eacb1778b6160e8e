import { z } from 'zod'

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
export const stageSchema = z.discriminatedUnion('kind', [sftStageSchema, pretrainStageSchema, qaStageSchema])

export type StageOptions = z.output<typeof stageSchema>
export type StageKind = StageOptions['kind']

/**
 * The data keys whose default depends on the stage, as their TSDoc `@defaultValue` says:
 * `parseRecipe` fills the ones a recipe leaves out. Part of the recipe schema, next to it.
 */
export const stageDataDefaults = {
  sft: { template: 'chatml', mask: 'assistant', packing: false },
  pretrain: { mask: 'all', packing: true },
  // qa reads no conversations: its windows are never packed and every window trains.
  qa: { mask: 'all', packing: false },
} as const satisfies Record<StageKind, { template?: 'chatml'; mask: 'all' | 'assistant'; packing: boolean }>
