// The rm stage against TRL 1.16's RewardTrainer (test/trl/rm_reference.py in .venv-trl), on a tiny
// random model (hidden 64, 2 layers, the 322-token test tokenizer), cpu, float32. An initial adapter
// in PEFT's SEQ_CLS layout — LoRA matrices with B drawn non-zero, and tunekit's seeded `score` head
// in modules_to_save — is written through @tunekit/hf; TRL loads it with PEFT over
// AutoModelForSequenceClassification and every tunekit run starts from it (`lora.init`), training
// the same 8 pairs, 4 a step, in order, dropout 0. For the plain loss and with
// centerRewardsCoefficient: torch's per-step loss and RewardTrainer's metrics (accuracy, margin,
// min/mean/max reward) equal TRL's within 1e-5, tfjs's equal torch's within 1e-4. Each backend's
// merged folder, loaded by transformers' AutoModelForSequenceClassification.from_pretrained, gives
// the rewards that backend's `rewards` request gives (base + artifact) within 1e-5.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { defineRecipe, inline, mulberry32, resolveModelDir, type Recipe, type RunEvent } from '@tunekit/core'
import { loadTokenizer, readPreferenceShards } from '@tunekit/data'
import { initialAdapter, loraSpecFromRecipe, readModelConfig, writeAdapter } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { tinyTokenizer } from '../data/helpers.ts'
import { trlPython } from '../python.ts'
import { python, runRecipe, tempDir, type Run } from '../torch/helpers.ts'

const STEPS = 3
const METRICS = ['accuracy', 'margin', 'min_reward', 'mean_reward', 'max_reward'] as const
const cases = [{}, { centerRewardsCoefficient: 0.01 }] as const
type Case = (typeof cases)[number]
const caseName = (c: Case): string => ('centerRewardsCoefficient' in c ? `centerRewardsCoefficient ${c.centerRewardsCoefficient}` : 'plain')

const words = ['hot', 'up', 'big', 'wet', 'fast', 'old', 'dark', 'loud']
const opposites = ['cold', 'down', 'small', 'dry', 'slow', 'new', 'light', 'quiet']
// TRL's explicit-prompt records: the right antonym preferred over another word
const records = words.map((w, i) => ({ prompt: `The opposite of ${w} is?`, chosen: opposites[i]!, rejected: words[(i + 3) % words.length]! }))

const recipe = (c: Case, backend: 'tfjs' | 'torch', init: string, merge = false) =>
  defineRecipe({
    name: 'tiny-rm',
    model: {
      id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
      random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
    },
    stage: { kind: 'rm', ...c },
    data: { source: inline(records), format: 'openai', template: 'alpaca', maxLength: 64 },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], init },
    args: { batchSize: 4, maxSteps: STEPS, learningRate: 1e-2, lrScheduler: 'constant', shuffle: false, logEvery: 1, seed: 3, saveEvery: 'never' },
    backend,
    device: 'cpu',
    output: { merge },
  })

interface Trl {
  cases: { loss: number[]; metrics: Record<string, number[]> }[]
}

/** TRL's one process: each request (a line on stdin) answered by a `result` line, in order. */
function startTrl(): { ask: <T>(request: unknown) => Promise<T>; close: () => void } {
  const child = spawn(trlPython(), [join(import.meta.dirname, 'rm_reference.py')], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', TQDM_DISABLE: '1' } })
  const waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = []
  const stderr: string[] = []
  // Trainer prints its logs on stdout too: a result is the line after the marker
  createInterface({ input: child.stdout }).on('line', (line) => void (line.startsWith('result ') && waiting.shift()?.resolve(JSON.parse(line.slice(7)))))
  child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()))
  child.on('close', (code) => waiting.splice(0).forEach((w) => w.reject(new Error(`TRL exited ${code}:\n${stderr.join('').slice(-4000)}`))))
  return {
    ask: <T,>(request: unknown) => new Promise<T>((resolve, reject) => {
      waiting.push({ resolve: (v) => resolve(v as T), reject })
      child.stdin.write(`${JSON.stringify(request)}\n`)
    }),
    close: () => void child.stdin.end(),
  }
}

/** The rm stage's LoRA adapter as tunekit draws it (A and the score head from the seed), with B drawn too: U(−0.05, 0.05). */
async function writeStartAdapter(dir: string, recipe: Recipe, modelDir: string): Promise<void> {
  const { family, config } = await readModelConfig(modelDir)
  const { lora } = recipe
  const spec = loraSpecFromRecipe({ ...lora, modulesToSave: [...lora.modulesToSave, 'score'], targetModules: [...lora.targetModules], trainableTokens: false }, family)
  const tensors = await initialAdapter({ family, config, lora: spec, seed: 3 })
  const next = mulberry32(7)
  for (const [name, t] of tensors) if (name.includes('lora_B')) t.data.forEach((_, i) => (t.data[i] = (next() - 0.5) * 0.1))
  await writeAdapter(dir, { tensors, loraConfig: spec, family, baseModel: modelDir })
}

const stepsOf = (run: Run) => run.events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step')
const maxAbs = (a: readonly number[], b: readonly number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))
const metricsOf = (run: Run) => ({ loss: stepsOf(run).map((s) => s.loss), metrics: Object.fromEntries(METRICS.map((m) => [m, stepsOf(run).map((s) => s.metrics![m]!)])) })
/** max |Δ| over the per-step loss and each metric. */
function deltas(run: Run, reference: { loss: number[]; metrics: Record<string, number[]> }): Record<string, number> {
  const steps = stepsOf(run)
  expect(steps.length).toBe(STEPS)
  return Object.fromEntries([
    ['loss', maxAbs(steps.map((s) => s.loss), reference.loss)],
    ...METRICS.map((m) => [m, maxAbs(steps.map((s) => s.metrics![m]!), reference.metrics[m]!)]),
  ])
}

let trl: Trl
let torchRuns: Run[]
let tfjsRuns: Run[]
/** Per backend: the rewards of the held-out rows by its `rewards` request (base + artifact) and by transformers on its merged folder. */
const rewards: Record<'torch' | 'tfjs', { tunekit: number[]; transformers: number[] }> = { torch: { tunekit: [], transformers: [] }, tfjs: { tunekit: [], transformers: [] } }
// sequences the reward model never trained on, scored after training
const heldOut = ['The opposite of tall is? short', 'The opposite of tall is? tall', 'The opposite of good is? bad']

beforeAll(async () => {
  const cacheDir = tempDir('rm')
  const adapter = join(tempDir('rm-adapter'), 'adapter')
  // the data nodes once (TypeScript only): the random model and the pairs TRL is given as token ids
  const data = await runRecipe(recipe(cases[0], 'torch', 'default'), createTorchBackend({ python }), { cacheDir, until: 'tokenize' })
  const modelDir = await resolveModelDir(data.artifact('model'))
  await writeStartAdapter(adapter, recipe(cases[0], 'torch', 'default'), modelDir)
  const { pairs, padId } = await readPreferenceShards(data.artifact('tokenize'))
  const reference = startTrl()
  const trlResult = reference.ask<Trl>({
    model: modelDir, tokenizer: join(data.artifact('tokenize'), 'tokenizer'), out: tempDir('rm-trl'), adapter, padId,
    pairs: pairs.map((p) => ({ chosen: [...p.promptIds, ...p.chosenIds], rejected: [...p.promptIds, ...p.rejectedIds] })),
    seed: 3, steps: STEPS, batchSize: 4, learningRate: 1e-2, cases,
  })
  // the plain case also merges (its folder is what transformers loads)
  const backends = { torch: createTorchBackend({ python }), tfjs: createTfjsBackend({ device: 'cpu' }) }
  const torch = Promise.all(cases.map((c, i) => runRecipe(recipe(c, 'torch', adapter, i === 0), backends.torch, { cacheDir })))
  tfjsRuns = []
  for (const [i, c] of cases.entries()) tfjsRuns.push(await runRecipe(recipe(c, 'tfjs', adapter, i === 0), backends.tfjs, { cacheDir }))
  ;[trl, torchRuns] = await Promise.all([trlResult, torch])
  const tok = await loadTokenizer(join(data.artifact('tokenize'), 'tokenizer'))
  const rows = heldOut.map((text) => tok.encode(text))
  for (const [name, run] of [['torch', torchRuns[0]!], ['tfjs', tfjsRuns[0]!]] as const) {
    rewards[name].tunekit = await backends[name].rewards!({ model: modelDir, adapter: run.artifact('train'), sequences: rows, padId })
    rewards[name].transformers = (await reference.ask<{ rewards: number[] }>({ merged: run.artifact('merge'), rows })).rewards
  }
  reference.close()
}, 600_000)

describe('rm on torch against TRL RewardTrainer', () => {
  it.each(cases.map((c, i) => [caseName(c), i] as const))("%s: per-step loss and metrics equal RewardTrainer's (1e-5)", (_, i) => {
    const d = deltas(torchRuns[i]!, trl.cases[i]!)
    for (const [name, delta] of Object.entries(d)) expect(delta, `${name}: tunekit ${JSON.stringify(metricsOf(torchRuns[i]!))}\nTRL ${JSON.stringify(trl.cases[i])}`).toBeLessThan(1e-5)
  })
})

describe('rm on tfjs against torch', () => {
  it.each(cases.map((c, i) => [caseName(c), i] as const))('%s: per-step loss and metrics agree (1e-4)', (_, i) => {
    const d = deltas(tfjsRuns[i]!, metricsOf(torchRuns[i]!))
    for (const [name, delta] of Object.entries(d)) expect(delta, `${name}: tfjs ${JSON.stringify(metricsOf(tfjsRuns[i]!))}\ntorch ${JSON.stringify(metricsOf(torchRuns[i]!))}`).toBeLessThan(1e-4)
  })
})

describe('the merged reward model in transformers', () => {
  it.each(['torch', 'tfjs'] as const)("%s's merged folder: AutoModelForSequenceClassification's rewards equal the backend's rewards request (1e-5)", (name) => {
    const { tunekit, transformers } = rewards[name]
    expect(tunekit).toHaveLength(heldOut.length)
    expect(maxAbs(tunekit, transformers), JSON.stringify(rewards[name])).toBeLessThan(1e-5)
  })
})
