import type { Family, Recipe } from '@tunekit/core'
import { loraChatml, type ChatmlRecipeOptions } from '@tunekit/recipes'

/**
 * A support-chat recipe: LoRA on a chat model, trained on the assistant turns only, with this
 * package's defaults (rank 16, 2 epochs, cosine schedule). Every key can be overridden.
 *
 * @example
 * export const recipe = supportChat({
 *   model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
 *   data: { source: file('data/tickets.jsonl'), format: 'openai' },
 * })
 */
export function supportChat<const F extends Family>(options: ChatmlRecipeOptions<F>): Recipe<F> {
  return loraChatml({
    ...options,
    lora: { rank: 16, alpha: 32, dropout: 0.05, ...options.lora },
    data: { mask: 'assistant', ...options.data },
    args: { epochs: 2, learningRate: 1e-4, lrScheduler: 'cosine', warmupRatio: 0.03, ...options.args },
  } as ChatmlRecipeOptions<F>)
}
