/**
 * hotel-tools: a function-calling fine-tune on a laptop CPU, the CrossWOZ hotel-search experiment
 * at a size that trains in minutes. The assistant either calls `search_hotels` with the slots the
 * user asked for (name, type, facilities, price range, rating, subway; 1–4 per call) or, after the
 * tool's results, answers in text. The dialogues (Chinese and English) come from a seeded
 * generator (`hotelDialogues` in @tunekit/recipes) in LLaMA-Factory's sharegpt format.
 *
 * The held-out dialogues are answered by the base model and by the fine-tuned one, and scored as
 * the seed scores them: tool-call turns by slot precision, recall and F1, text turns by BLEU-4.
 *
 * The model is a tiny Mistral-shaped one with random weights and the real Mistral tokenizer, so
 * the base row is a floor (a random model calls nothing); every weight trains (copying a slot's
 * value from the request into the call needs attention patterns that LoRA over random frozen
 * weights does not reach at this size). The same recipe with `model` pointed at Qwen2-7B or
 * Llama-3.1-8B (QLoRA) on a GPU is the seed's experiment (docs/evaluation.md).
 *
 * Run:    npx tsx recipes/hotel-tools.ts               (trains, then prints the table: base and fine-tuned)
 *         npx tsx recipes/hotel-tools.ts eval --base   (the base row alone; trains nothing)
 */
import { defineRecipe, inline } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { hotelDialogues } from '@tunekit/recipes'

export const recipe = defineRecipe({
  name: 'hotel-tools',
  model: {
    id: 'tunekit/tiny-mistral-hotels',
    family: 'mistral',
    dtype: 'float32',
    random: {
      seed: 0,
      tokenizer: 'mistral',
      // ≈ 4.2M parameters, 4.1M of them in embed_tokens and lm_head (32,002 × 64 each)
      config: { vocab_size: 32000, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 },
    },
  },
  tokens: { chatml: true }, // <|im_start|> and <|im_end|> as added tokens, <|im_end|> the eos
  method: { kind: 'full' },
  data: {
    // Without the tool's definition in every prompt: ChatML's tool preamble would triple every
    // sample's length (≈ 190 of ≈ 300 tokens) and the CPU time with it; a GPU run keeps it (docs/evaluation.md).
    source: inline(hotelDialogues({ seed: 0, count: 400, tools: false })),
    format: 'sharegpt',
    template: 'chatml',
    maxLength: 200, // the longest dialogue is 190 tokens
    mask: 'assistant', // learn the calls and the replies, not the requests or the tool's results
    split: { eval: 40, seed: 0 },
  },
  args: {
    batchSize: 16,
    maxSteps: 200, // ≈ 9 epochs of 23 steps
    learningRate: 3e-3, // high, as tiny models from scratch tolerate
    lrScheduler: 'constant',
    optimizer: 'adamw',
    evalEvery: 'never',
    saveEvery: 50,
    logEvery: 10,
  },
  eval: { metrics: ['bleu4', 'toolCalls'], maxNewTokens: 64, tokenize: 'zh', base: true },
  backend: 'tfjs',
})

await main(import.meta, recipe)
