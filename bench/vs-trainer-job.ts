/**
 * The second job of bench/vs-trainer.ts (issue 21): a Mistral-shaped model of hidden 256 and 4
 * layers on the real 32k Mistral vocabulary with random weights, LoRA r16 on every projection with
 * embed_tokens and lm_head trained and saved, 400 seeded ChatML conversations of 150–250 tokens,
 * batch 8, 60 steps, every token trained. Small enough for a CPU, large enough that the vocabulary
 * products, the attention and the projections all show in a profile.
 *
 * Memory: ≈ 2 GB (torch), ≈ 3 GB (tfjs).  Time: 2–8 minutes of training on 2 CPU cores.
 * Run:    npx tsx bench/vs-trainer-job.ts [plan | run | …]   (bench/vs-trainer.ts runs it on each backend)
 */
import { inline } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { createRng } from '@tunekit/hf'
import { loraChatml } from '@tunekit/recipes'

// Common words of one or two Mistral tokens each: a conversation of 133–225 words is ≈ 150–250 tokens.
const words = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she ' +
  'there would their we him been has when who will more no if out so said what up its about into than them can only other new some ' +
  'could time these two may then do first any my now such like our over man me even most made after also did many before must through ' +
  'back years where much your way well down should because each just those people how too little state good very make world still own ' +
  'see men work long get here between both life being under never day same another know while last might us great old year off come ' +
  'since against go came right used take three states himself few house use during without again place around however home small found'
).split(' ')

/** Words of a turn: a seeded count in [min, max] (min = max: a fixed count, no number drawn). */
export interface TurnWords { min: number; max: number }

/**
 * `count` seeded question / answer pairs: by default a 5-word question and an answer of 128–220
 * words (this job's); bench/vs-trainer-long.ts asks for long questions too. A fixed question
 * length draws no number, so the default pairs are those of before the option.
 */
export function benchTurns(count: number, seed = 0, shape: { question?: TurnWords; answer?: TurnWords } = {}): Array<{ prompt: string; response: string }> {
  const rng = createRng(seed, 'vs-trainer-job')
  const pick = (): string => words[rng.nextU32() % words.length]!
  const sentence = (n: number): string => Array.from({ length: n }, pick).join(' ')
  const length = ({ min, max }: TurnWords): number => (max > min ? min + (rng.nextU32() % (max - min + 1)) : min)
  const { question = { min: 5, max: 5 }, answer = { min: 128, max: 220 } } = shape
  return Array.from({ length: count }, () => {
    const a = length(answer)
    const q = length(question)
    return { prompt: `${sentence(q)}?`, response: `${sentence(a)}.` }
  })
}

/** {@link benchTurns} as ChatML conversations (`chatml-text`). */
export const benchConversations = (count: number, seed = 0, shape: Parameters<typeof benchTurns>[2] = {}): Array<{ text: string }> =>
  benchTurns(count, seed, shape).map(({ prompt, response }) => ({ text: `<|im_start|>user\n${prompt}<|im_end|>\n<|im_start|>assistant\n${response}<|im_end|>\n` }))

export const recipe = loraChatml({
  name: 'vs-trainer-job',
  model: {
    id: 'tunekit/small-mistral',
    family: 'mistral',
    dtype: 'float32',
    random: {
      seed: 0,
      tokenizer: 'mistral',
      config: { vocab_size: 32000, hidden_size: 256, intermediate_size: 688, num_hidden_layers: 4, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 32 },
    },
  },
  lora: { rank: 16, alpha: 32, dropout: 0 },
  data: { source: inline(benchConversations(400)), maxLength: 256, split: { eval: 0 } },
  args: {
    batchSize: 8,
    maxSteps: 60,
    learningRate: 2e-4,
    optimizer: 'adamw',
    groupByLength: false,
    evalEvery: 'never',
    saveEvery: 'never',
    logEvery: 10,
  },
  backend: 'tfjs',
  output: { merge: false },
})

await main(import.meta, recipe)
