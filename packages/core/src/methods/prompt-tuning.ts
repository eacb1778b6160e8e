import { z } from 'zod'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import { addedTokensUntrained } from './ia3.ts'
import type { CheckModel, MethodDefinition } from './types.ts'

// Prompt tuning (Lester et al., 2021): `numVirtualTokens` trainable embeddings [n, hidden] are
// prepended to every row's input embeddings; the model is frozen and nothing is merged (the
// virtual tokens are inputs, not weights). The options are PEFT's PromptTuningConfig fields in
// camelCase; the adapter is PEFT's (`prompt_embeddings` [n, hidden]).

export const promptTuningSchema = z.strictObject({
  /**
   * Prompt tuning: trainable virtual-token embeddings prepended to every input, the model frozen.
   * The fewest trainable values (`numVirtualTokens × hidden`), but each row is `numVirtualTokens`
   * longer (activation memory and time); weaker than LoRA on small models; not mergeable, so
   * generation runs the base model with the adapter.
   * @defaultValue 'lora' (when `method` is left out)
   * @see https://arxiv.org/abs/2104.08691 (prompt tuning), https://huggingface.co/docs/peft/package_reference/prompt_tuning
   */
  kind: z.literal('prompt-tuning'),
  /**
   * Virtual tokens prepended to each row. More: more capacity, and every row (and its attention)
   * that much longer; the paper's gains flatten past ~20.
   * @defaultValue 20
   * @see https://huggingface.co/docs/peft/package_reference/prompt_tuning#peft.PromptTuningConfig (num_virtual_tokens)
   */
  numVirtualTokens: z.number().int().positive().default(20),
  /**
   * How the virtual tokens start: `'RANDOM'` draws them from N(0, 1) (seeded by `args.seed`), `'TEXT'`
   * copies the embeddings of `promptTuningInitText`'s tokens (repeated or cut to `numVirtualTokens`),
   * which the paper finds trains faster and better. No memory effect.
   * @defaultValue 'RANDOM'
   * @see https://huggingface.co/docs/peft/package_reference/prompt_tuning#peft.PromptTuningConfig (prompt_tuning_init)
   */
  promptTuningInit: z.enum(['RANDOM', 'TEXT']).default('RANDOM'),
  /**
   * The text whose token embeddings start the virtual tokens with `promptTuningInit: 'TEXT'`, tokenized
   * by the recipe's tokenizer as PEFT does (special tokens included), e.g. a task description.
   * @defaultValue undefined (required with 'TEXT')
   * @see https://huggingface.co/docs/peft/package_reference/prompt_tuning#peft.PromptTuningConfig (prompt_tuning_init_text)
   */
  promptTuningInitText: z.string().min(1).optional(),
})

export type PromptTuningOptions = z.output<typeof promptTuningSchema>

function check(o: Partial<PromptTuningOptions>, model: CheckModel, at: string): Issue[] {
  const issues: Issue[] = [...addedTokensUntrained(model, at, 'prompt-tuning')]
  if (o.promptTuningInit === 'TEXT' && o.promptTuningInitText === undefined) issues.push(issue('PromptInitTextMissing', { path: `${at}.promptTuningInitText` }))
  if (o.promptTuningInit === 'RANDOM' && o.promptTuningInitText !== undefined) issues.push(issue('PromptInitTextUnused', { path: `${at}.promptTuningInitText`, value: o.promptTuningInitText }))
  return issues
}

export const promptTuning = {
  schema: promptTuningSchema,
  check,
  mergeable: false,
  recipeIssues: promptLearningIssues('prompt tuning'),
  // PEFT's PromptEmbedding: one [numVirtualTokens, hidden] embedding (one transformer submodule for a decoder)
  count: (o, { config }) => {
    const prompt = o.numVirtualTokens * config.hiddenSize
    return { trainable: prompt, inBase: false, parts: { promptEmbeddings: prompt } }
  },
  // The gradient of the virtual tokens flows through every frozen layer: each keeps the inputs of
  // its products as a trained layer does, per token (the n virtual rows are beside the row's tokens).
  activationBytes: (_o, { config: c, computeBytes: p }) => c.numHiddenLayers * p * (2 * c.hiddenSize + c.intermediateSize),
} satisfies MethodDefinition<typeof promptTuningSchema>

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/**
 * What a prompt-learning method (prompt tuning, P-tuning, prefix tuning: PEFT's
 * `is_prompt_learning`) cannot do, read from the recipe as written (output.merge defaults to true;
 * an unwritten one is simply not merged): merge or export the model, pack rows (pretrain packs
 * unless `data.packing: false`) or lay them end to end (`args.paddingFree`), or train a stage that
 * scores sequences with its own forward passes.
 */
export function promptLearningIssues(method: string): (raw: Record<string, unknown>) => Issue[] {
  return (raw) => {
    const issues: Issue[] = []
    const output = isObject(raw.output) ? raw.output : {}
    if (output.merge === true) issues.push(issue('PromptTuningMerge', { path: 'output.merge', value: true, hintArgs: [method] }, 'output.merge', method))
    if (Array.isArray(output.gguf) && output.gguf.length > 0) issues.push(issue('PromptTuningMerge', { path: 'output.gguf', value: output.gguf, hintArgs: [method] }, 'output.gguf', method))
    const stage = isObject(raw.stage) && typeof raw.stage.kind === 'string' ? raw.stage.kind : 'sft'
    if (stage !== 'sft' && stage !== 'pretrain') issues.push(issue('PromptTuningStage', { path: 'stage.kind', value: stage, hintArgs: [method] }, stage, method))
    const data = isObject(raw.data) ? raw.data : {}
    if (data.packing === true || (stage === 'pretrain' && data.packing !== false)) issues.push(issue('PromptTuningPacking', { path: 'data.packing', value: data.packing ?? true }, method))
    // padding-free rows hold several samples, and the virtual tokens (or prefix) lead a row, not a sample
    const args = isObject(raw.args) ? raw.args : {}
    const chosen = isObject(raw.method) ? raw.method : {}
    const tokens = typeof chosen.numVirtualTokens === 'number' ? chosen.numVirtualTokens : 20
    if (args.paddingFree === true) issues.push(issue('PaddingFreeVirtualTokens', { path: 'args.paddingFree', value: true }, tokens))
    return issues
  }
}
