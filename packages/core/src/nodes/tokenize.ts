import { z } from 'zod'
import { familyNames } from '../families/index.ts'
import { dataSchema } from '../schema/data.ts'
import { loraSchema } from '../methods/lora.ts'
import { tokensSchema } from '../schema/tokens.ts'
import type { Recipe } from '../define.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

const data = dataSchema.shape

/** How text becomes tokens and labels: chat (template + mask), raw text (every token a label), pre-tokenized ids, or preference records. */
export const renderParamsSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    /** Conversations rendered by a chat template; `mask` picks the labelled turns. */
    kind: z.literal('chat'),
    template: resolvedSchema(data.template.unwrap()),
    mask: resolvedSchema(data.mask.unwrap()),
  }),
  z.strictObject({
    /** Documents encoded as they are (bos per `tokens.addBos`), eos appended, every token a label. */
    kind: z.literal('text'),
  }),
  z.strictObject({
    /** Pre-tokenized records (data.format 'tokens'): ids and labels as the records give them. */
    kind: z.literal('tokens'),
  }),
  z.strictObject({
    /**
     * Preference pairs and KTO examples (the preference stages pick it): the prompt rendered once
     * with the generation prompt, each answer as the assistant turn; TRL's truncation.
     */
    kind: z.literal('preference'),
    template: resolvedSchema(data.template.unwrap()),
    maxPromptLength: resolvedSchema(data.maxPromptLength),
  }),
  z.strictObject({
    /**
     * Prompts for online RL (the grpo stage picks it): each conversation up to its last assistant
     * turn, rendered with the generation prompt, its end kept at `maxPromptLength` tokens; the
     * last assistant turn's text is kept beside it as the example's reference answer.
     */
    kind: z.literal('prompt'),
    template: resolvedSchema(data.template.unwrap()),
    maxPromptLength: resolvedSchema(data.maxPromptLength),
  }),
])

/** `tokenize` params: rendering, lengths, the tokenizer's added tokens and which token rows train. */
export const tokenizeParamsSchema = z.strictObject({
  render: renderParamsSchema,
  maxLength: resolvedSchema(data.maxLength),
  truncation: resolvedSchema(data.truncation),
  onError: resolvedSchema(data.onError),
  tokens: resolvedSchema(tokensSchema),
  family: z.enum(familyNames as [string, ...string[]]),
  /** `lora.trainableTokens`: resolved to ids once, here, and written into index.json (`trainableTokenIds`). */
  trainableTokens: resolvedSchema(loraSchema.shape.trainableTokens),
})

export type TokenizeParams = z.output<typeof tokenizeParamsSchema>
export type RenderParams = z.output<typeof renderParamsSchema>

/** Chat rendering needs a template and a mask; the recipe's stage fills both for chat data (stages/sft.ts). */
function renderOf(d: Recipe['data']): RenderParams {
  if (d.format === 'text') return { kind: 'text' }
  if (d.format === 'tokens') return { kind: 'tokens' }
  if (d.template === undefined || d.mask === undefined) throw new Error('tokenize: a chat recipe reached compile without data.template and data.mask (parseRecipe fills them from the stage)')
  return { kind: 'chat', template: d.template, mask: d.mask }
}

export const tokenizeNode = defineNode({
  kind: 'tokenize',
  schema: tokenizeParamsSchema,
  runsOn: 'data',
  artifact: 'token shards (`pairs/` and `unpaired/` shard sets for render `preference`; `prompts.jsonl` for render `prompt`) + `tokenizer/` + `chat_template.jinja` (chat, preference) + `report.json`; index.json holds `trainableTokenIds`',
  params: (recipe) => ({
    render: renderOf(recipe.data),
    maxLength: recipe.data.maxLength,
    truncation: recipe.data.truncation,
    onError: recipe.data.onError,
    tokens: recipe.tokens,
    family: recipe.model.family,
    trainableTokens: recipe.lora.trainableTokens,
  }),
})
