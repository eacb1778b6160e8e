import { z } from 'zod'
import { builtinTemplateNames } from './template-names.ts'

const record = z.record(z.string(), z.unknown())

export const hubSourceSchema = z.strictObject({
  /**
   * Marks a Hugging Face Hub dataset; `hub('owner/name')` sets it for you. No memory or quality effect.
   * @defaultValue (required) `'hub'`
   * @see https://huggingface.co/docs/datasets/loading#hugging-face-hub
   */
  kind: z.literal('hub'),
  /**
   * Dataset repository on the Hugging Face Hub, e.g. `'OpenAssistant/oasst_top1_2023-08-25'`.
   * It decides what the model learns; read from the Hub cache, so no download at run time.
   * @defaultValue (required)
   * @see https://huggingface.co/docs/datasets/loading#hugging-face-hub (path)
   */
  repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected "owner/name"'),
  /**
   * Split to read (`'train'`, `'test'`); `'all'` reads every split. More records: more steps per
   * epoch, no change to memory per step.
   * @defaultValue 'train'
   * @see https://huggingface.co/docs/datasets/loading#slice-splits (split)
   */
  split: z.string().default('train'),
  /**
   * Branch, tag or commit of the dataset; pin a commit to make runs reproducible.
   * No memory or quality effect.
   * @defaultValue 'main'
   * @see https://huggingface.co/docs/datasets/loading#hugging-face-hub (revision)
   */
  revision: z.string().default('main'),
})

export const fileSourceSchema = z.strictObject({
  /**
   * Marks local files; `file('data.jsonl')` sets it for you. No memory or quality effect.
   * @defaultValue (required) `'file'`
   * @see https://huggingface.co/docs/datasets/loading#local-and-remote-files
   */
  kind: z.literal('file'),
  /**
   * A file or folder (json, jsonl, csv, parquet; txt, one document per line, as a file or with
   * `type: 'text'` for a folder's .txt files), or several. Relative paths resolve from the
   * recipe's folder; records are streamed, so file size does not change training memory.
   * @defaultValue (required)
   * @see https://huggingface.co/docs/datasets/loading#local-and-remote-files (data_files)
   */
  path: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /**
   * File type when the extension does not tell. No memory or quality effect.
   * @defaultValue undefined (from the extension)
   * @see https://huggingface.co/docs/datasets/loading#local-and-remote-files
   */
  type: z.enum(['json', 'jsonl', 'csv', 'parquet', 'text']).optional(),
})

export const inlineSourceSchema = z.strictObject({
  /**
   * Marks records written in the recipe; `inline([...])` sets it for you. No memory or quality effect.
   * @defaultValue (required) `'inline'`
   * @see https://huggingface.co/docs/datasets/create_dataset#from-python-dictionaries
   */
  kind: z.literal('inline'),
  /**
   * The records themselves, kept in memory with the recipe: meant for tests and tiny demos.
   * @defaultValue (required)
   * @see https://huggingface.co/docs/datasets/create_dataset#from-python-dictionaries (Dataset.from_list)
   */
  records: z.array(record).min(1),
})

export const sourceSchema = z.discriminatedUnion('kind', [hubSourceSchema, fileSourceSchema, inlineSourceSchema])

export const chatmlTextFormatSchema = z.strictObject({
  /**
   * Marks records that hold whole ChatML conversations as text. No memory or quality effect.
   * @defaultValue (required) `'chatml-text'`
   * @see https://github.com/openai/openai-python/blob/release-v0.28.0/chatml.md
   */
  kind: z.literal('chatml-text'),
  /**
   * Column holding the ChatML text; each record is split back into turns, so masking works per turn.
   * No memory effect.
   * @defaultValue 'text'
   * @see https://huggingface.co/datasets/OpenAssistant/oasst_top1_2023-08-25
   */
  column: z.string().default('text'),
})

export const columnMapSchema = z.strictObject({
  /**
   * Marks a map from record columns to turns. No memory or quality effect.
   * @defaultValue (required) `'columns'`
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md (columns)
   */
  kind: z.literal('columns'),
  /**
   * Column with the system prompt; a system prompt adds tokens to every sample (masked by default).
   * @defaultValue undefined (no system turn)
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md (system)
   */
  system: z.string().optional(),
  /**
   * Column with the user's message, the prompt the model learns to answer.
   * @defaultValue (required)
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md (prompt)
   */
  prompt: z.string(),
  /**
   * Column appended to the prompt (alpaca's `input`); longer prompts cost activation memory.
   * @defaultValue undefined (none)
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md (query)
   */
  query: z.string().optional(),
  /**
   * Column with the assistant's answer: the tokens that carry the loss with `mask: 'assistant'`.
   * @defaultValue (required)
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md (response)
   */
  response: z.string(),
})

export const datasetInfoFormatSchema = z.strictObject({
  /**
   * Marks a LLaMA-Factory `dataset_info.json` entry. No memory or quality effect.
   * @defaultValue (required) `'dataset-info'`
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md
   */
  kind: z.literal('dataset-info'),
  /**
   * Path of a LLaMA-Factory `dataset_info.json`, relative to the recipe's folder. No memory effect.
   * @defaultValue (required)
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/data/dataset_info.json
   */
  file: z.string(),
  /**
   * Entry name inside it; the entry gives the source and the column map. No memory effect.
   * @defaultValue (required)
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md
   */
  name: z.string(),
})

export const formatSchema = z.union([
  z.enum(['chatml-text', 'alpaca', 'sharegpt', 'openai', 'text', 'tokens', 'squad']),
  chatmlTextFormatSchema,
  columnMapSchema,
  datasetInfoFormatSchema,
])

export const jinjaTemplateSchema = z.strictObject({
  /**
   * A Jinja chat template, as in tokenizer_config.json `chat_template`; it is saved with the
   * outputs so inference renders prompts exactly as training did.
   * @defaultValue (required)
   * @see https://huggingface.co/docs/transformers/chat_templating
   */
  jinja: z.string().min(1),
})

export const splitSchema = z.strictObject({
  /**
   * Held-out evaluation share: a ratio in (0, 1) or a sample count ≥ 1. `0` trains on everything.
   * A larger share trains on less data but measures quality more reliably; no memory effect.
   * @defaultValue 0.05
   * @see https://huggingface.co/docs/datasets/process#split (train_test_split test_size)
   */
  eval: z.number().nonnegative().default(0.05),
  /**
   * Seed of the shuffle that picks evaluation samples; the split is identical for the same seed.
   * No memory or quality effect.
   * @defaultValue 42
   * @see https://huggingface.co/docs/datasets/process#split
   */
  seed: z.number().int().nonnegative().default(42),
  /**
   * Use the source's own test split (hub sources) instead of carving one out of train.
   * Keeps every training record for training; no memory effect.
   * @defaultValue undefined (carve from train)
   * @see https://huggingface.co/docs/datasets/loading#slice-splits
   */
  evalSplit: z.string().optional(),
})

export const dataSchema = z.strictObject({
  /**
   * Where records come from: `hub('owner/name')`, `file('data.jsonl')` or `inline([...])`.
   * It decides what the model learns; records are streamed, so its size does not change memory per step.
   * @defaultValue (required)
   * @see https://huggingface.co/docs/datasets/loading
   */
  source: sourceSchema,
  /**
   * How records map to conversations: `'chatml-text'` (one ChatML `text` column, as oasst_top1),
   * `'alpaca'`, `'sharegpt'`, `'openai'`, a column map or a LLaMA-Factory dataset_info entry; or,
   * with `stage: { kind: 'pretrain' }` only, `'text'`: raw documents, one per JSON record (its `text`
   * field) or per non-empty line of a `.txt` file, as LLaMA-Factory's `pt` stage reads them; or
   * `'tokens'`: pre-tokenized records (`input_ids` with `labels`, -100 where masked, or with a 0/1
   * `mask`, or with an `attention_mask` whose 0s are padding and left out), written to the shards
   * as they are, with no template, no bos or eos added (any stage; `data.template`/`data.mask` are
   * then not allowed); or, with `stage: { kind: 'qa' }` only, `'squad'`: SQuAD v1.1/v2.0 JSON
   * (`data[].paragraphs[].qas[]`) or flat records with SQuAD's fields (`id`, `question`, `context`,
   * `answers: { text, answer_start }`), as run_qa.py reads them.
   * It decides which turns exist and so which tokens can carry loss; no memory effect.
   * @defaultValue (required)
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md,
   *   https://llamafactory.readthedocs.io/en/latest/advanced/arguments.html (tokenized_path)
   */
  format: formatSchema,
  /**
   * Chat template that renders conversations to text: a built-in name, `'model'` (the tokenizer's
   * own chat_template) or `{ jinja }`. `'chatml-text'` data is already rendered and uses `'chatml'`.
   * Training and inference must use the same template, or quality drops; no memory effect.
   * Not allowed with `stage: { kind: 'pretrain' }` (raw text is trained as it is).
   * @defaultValue 'chatml' with stage sft (`'model'` with family 'auto'); none with stage pretrain
   * @see https://huggingface.co/docs/transformers/chat_templating
   */
  template: z
    .union([
      z.enum([...builtinTemplateNames, 'model']),
      jinjaTemplateSchema,
    ])
    .optional(),
  /**
   * Longest sample in tokens. Activation memory grows linearly with it (quadratically for
   * attention scores without flash attention).
   * @defaultValue 1024
   * @see https://huggingface.co/docs/trl/sft_trainer (max_seq_length)
   */
  maxLength: z.number().int().min(8).default(1024),
  /**
   * Preference data (pairs and KTO examples) only: the longest prompt in tokens kept when a record
   * is longer than `maxLength` (its end is kept); answers are then cut to `maxLength − maxPromptLength`,
   * as TRL's DPOTrainer truncates. A larger value keeps more context but leaves answers less room; no
   * memory effect beyond maxLength.
   * @defaultValue 512
   * @see https://huggingface.co/docs/trl/dpo_trainer (max_prompt_length)
   */
  maxPromptLength: z.number().int().min(1).default(512),
  /**
   * What to do with a sample longer than maxLength: cut it (`'truncate'`), leave it out
   * (`'drop'`), or cut it into several samples (`'split'`). Every affected sample is counted.
   * `'truncate'` can cut off answers (and their eos), hurting quality; no memory effect.
   * @defaultValue 'truncate'
   * @see https://huggingface.co/docs/transformers/pad_truncation
   */
  truncation: z.enum(['truncate', 'drop', 'split']).default('truncate'),
  /**
   * Which tokens carry loss: `'all'` (every token, as the qlora-minimal ChatML tutorial),
   * `'assistant'` (every assistant turn) or `'last-assistant'` (only the final answer). With
   * `stage: { kind: 'pretrain' }` every token is trained: only `'all'` is allowed.
   * @defaultValue 'assistant' with stage sft; 'all' with stage pretrain
   * @see https://huggingface.co/docs/trl/sft_trainer#train-on-completions-only
   */
  mask: z.enum(['all', 'assistant', 'last-assistant']).optional(),
  /**
   * Train/eval split.
   * See `split.eval`; no memory effect.
   * @defaultValue { eval: 0.05, seed: 42 }
   * @see https://huggingface.co/docs/datasets/process#split
   */
  split: splitSchema.default({ eval: 0.05, seed: 42 }),
  /**
   * Pack several short samples into one sequence of maxLength (attention never crosses samples).
   * Less padding, so more tokens per second; memory per step is unchanged.
   * @defaultValue false with stage sft; true with stage pretrain (documents are packed, as LLaMA-Factory's pt stage does)
   * @see https://huggingface.co/docs/trl/sft_trainer#packing-dataset
   */
  packing: z.boolean().optional(),
  /**
   * What to do with a record that cannot be used: stop with an error (`'fail'`) or skip it and
   * report it (`'skip'`).
   * No memory or quality effect beyond the records left out.
   * @defaultValue 'fail'
   * @see https://huggingface.co/docs/datasets/process
   */
  onError: z.enum(['fail', 'skip']).default('fail'),
  /**
   * Use at most this many records (after the source, before formatting): a quick trial run.
   * Fewer records: fewer steps and lower quality; no memory effect per step.
   * @defaultValue undefined (all records)
   * @see https://huggingface.co/docs/datasets/process#select-and-filter
   */
  limit: z.number().int().positive().optional(),
})

export type Source = z.output<typeof sourceSchema>
export type SourceInput = z.input<typeof sourceSchema>
export type DataInput = z.input<typeof dataSchema>
export type DataOptions = z.output<typeof dataSchema>
export type Format = z.output<typeof formatSchema>
