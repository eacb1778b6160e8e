/**
 * tiny-chat: a whole fine-tune on a laptop CPU, from nothing to a chat model that answers
 * questions it never saw, in about a minute. tunekit's main example.
 *
 * It creates once (cached by content) a tiny Mistral-shaped model — 2 layers, hidden 64 — with
 * random weights and the real Mistral tokenizer, and teaches it one skill from a conversation set
 * tunekit generates in oasst_top1's ChatML format: "What is the opposite of hot?" → "cold". The
 * recipe has mistral-oasst's shape (ChatML tokens with <|im_end|> as eos, LoRA on every projection,
 * embed_tokens and lm_head trained) at a size a CPU trains in a minute. Then it merges the adapter
 * into the weights and asks the merged model held-out questions (a word and a phrasing it saw, never
 * together), checking every answer exactly.
 *
 * Memory: < 1 GB.  Time: 40 s from a cold cache on a clean clone with 2 CPU cores (tfjs-wasm; 70 s
 *         while other jobs shared the cores), most of it training; seconds when cached.
 * Run:    npx tsx recipes/tiny-chat.ts          (`plan`, `graph`, `check` work too)
 *         npx tunekit chat runs/tiny-chat/merged
 */
import { defineRecipe, inline, isEntryPoint, type MethodInputFor, type Recipe } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { chatmlLoraDefaults, formatGrades, gradeAnswers, loraChatml, oppositesDataset, readRunSamples, type ChatmlRecipeOptions } from '@tunekit/recipes'
import { resolve } from 'node:path'

// 288 training conversations; 32 (phrasing, word) questions held out for the final check.
const { train, heldOut: questions } = oppositesDataset({ seed: 0, heldOut: 0.1 })
/** The held-out questions with their answers (the end of a run checks them). */
export const heldOut = questions

/** The recipe's options, shared with the method variants in recipes/methods/. */
export const options = {
  name: 'tiny-chat',
  model: {
    id: 'tunekit/tiny-mistral',
    family: 'mistral',
    dtype: 'float32',
    random: {
      seed: 0,
      tokenizer: 'mistral',
      // ≈ 4.2M parameters, 4.1M of them in embed_tokens and lm_head (32,002 × 64 each).
      config: { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 },
    },
  },
  // The rest as in mistral-oasst, scaled down: rank 8 is plenty for one skill.
  lora: { rank: 8, alpha: 16, dropout: 0 },
  data: {
    source: inline(train),
    maxLength: 64, // the longest conversation is 24 tokens
    mask: 'assistant', // learn the answers, not the questions
    split: { eval: 0 }, // the held-out questions are the evaluation
  },
  args: {
    batchSize: 16,
    maxSteps: 120, // ≈ 7 epochs of 18 steps
    learningRate: 4e-3, // high, as tiny models from scratch tolerate
    optimizer: 'adamw',
    groupByLength: false,
    evalEvery: 'never',
    saveEvery: 20, // a checkpoint every ≈ 7 s of CPU training: kill -9 loses at most that, Ctrl-C nothing
    logEvery: 10,
  },
  backend: 'tfjs',
  output: { samples: heldOut.map((q) => q.prompt) },
} satisfies ChatmlRecipeOptions<'mistral'>

export const recipe = loraChatml(options)

/**
 * tiny-chat trained with another method (recipes/methods/): the same model, data, ChatML template,
 * steps and held-out samples, `method` in place of LoRA, unmerged; `learningRate` where the method's usual
 * rate differs (prompt tuning and IA³ train few values and take larger steps).
 */
export function tinyChatWith(name: string, method: MethodInputFor<'mistral'>, learningRate: number = options.args.learningRate): Recipe<'mistral'> {
  const { lora: _lora, ...shared } = options
  const { lora: _defaults, ...defaults } = chatmlLoraDefaults
  // type arguments given: a method of any kind, as the recipe files pass it
  return defineRecipe<'mistral', 'sft', MethodInputFor<'mistral'>>({
    ...defaults, ...shared, name, method,
    data: { ...defaults.data, ...shared.data },
    args: { ...defaults.args, ...shared.args, learningRate },
    // the samples come from the base with the train artifact applied, for every method alike
    // (prompt tuning and LLaMA Pro have no merge)
    output: { ...shared.output, merge: false },
  })
}

await main(import.meta, recipe)

/** After a whole run from the command line (not `--until`/`--only`, not another verb), grades the merged model's answers to the held-out questions. */
export async function gradeAfterRun(meta: ImportMeta, run: typeof recipe): Promise<void> {
  const verb = process.argv[2]
  const partial = process.argv.some((a) => a === '--until' || a === '--only')
  const ran = (verb === undefined || verb === 'run' || verb.startsWith('-')) && !partial
  if (ran && !process.exitCode && (await isEntryPoint(meta))) {
    const samples = readRunSamples(resolve(run.output.dir ?? `runs/${run.name}`))
    if (samples.length > 0) console.log(`\nThe merged model, on questions it never saw:\n${formatGrades(gradeAnswers(heldOut, samples))}`)
  }
}

await gradeAfterRun(import.meta, recipe)
