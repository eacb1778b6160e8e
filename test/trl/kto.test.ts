// The kto stage against TRL 1.16's KTOTrainer (test/trl/kto_reference.py in .venv-trl), on a tiny
// random model (hidden 64, 2 layers, the 322-token test tokenizer), cpu, float32. An initial LoRA
// adapter with B drawn non-zero is written through @tunekit/hf in PEFT's layout; TRL loads it with
// PEFT (its "ref" copy is the reference) and every tunekit run starts from it (`lora.init`). TRL
// prepares the data itself from the token ids tunekit tokenized (only its tokenizer is the
// identity): it unpairs the pairs and rotates the KL completions within batches of 4, so the test
// checks that tunekit's examples and KL completions are TRL's, in TRL's order. Two cases: pairs given
// to KTO (loss kto, weights 1 / 1.5: batches of only desirable, mixed, and only undesirable examples)
// and unpaired examples with apo_zero_unpaired (no KL term, weights 1.2 / 1); for each, torch's
// reference log-probabilities, per-step loss and metrics equal TRL's within 1e-5, tfjs's equal
// torch's within 1e-4. A tfjs re-run with another beta re-runs train only.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { defineRecipe, inline, resolveModelDir, type RunEvent, type UnpairedRefLogprobs } from '@tunekit/core'
import { klCompletionOf, requireKtoExamples, readPreferenceShards } from '@tunekit/data'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { python, runRecipe, tempDir, type Run } from '../torch/helpers.ts'
import { runTrl, tinyModel, writeStartAdapter } from './helpers.ts'

const STEPS = 3
const BATCH = 4
const METRICS = ['kl', 'rewards/chosen', 'rewards/rejected', 'rewards/margins', 'logps/chosen', 'logps/rejected'] as const

const words = ['hot', 'up', 'big', 'wet', 'fast', 'old', 'dark', 'loud']
const opposites = ['cold', 'down', 'small', 'dry', 'slow', 'new', 'light', 'quiet']
// TRL's unpaired records: the right antonym desirable, another word undesirable (5 and 3)
const labels = [true, false, true, true, false, true, false, true]
const unpaired = words.map((w, i) => ({ prompt: `The opposite of ${w} is?`, completion: labels[i] ? opposites[i]! : words[(i + 3) % 8]!, label: labels[i]! }))
// TRL's pairs, which KTO unpairs: 12 examples, the 6 chosen answers then the 6 rejected ones
const pairs = words.slice(0, 6).map((w, i) => ({ prompt: `The opposite of ${w} is?`, chosen: opposites[i]!, rejected: words[(i + 3) % 8]! }))

// one Python worker per node and case is most of this file's time: two cases
const cases = [
  { name: 'pairs, kto', records: pairs, stage: { lossType: 'kto', beta: 0.2, desirableWeight: 1, undesirableWeight: 1.5 } },
  { name: 'unpaired, apo_zero_unpaired', records: unpaired, stage: { lossType: 'apo_zero_unpaired', beta: 0.1, desirableWeight: 1.2, undesirableWeight: 1 } },
] as const
type Case = { name: string; records: readonly Record<string, unknown>[]; stage: { lossType: 'kto' | 'apo_zero_unpaired'; beta: number; desirableWeight: number; undesirableWeight: number } }

const recipe = (c: Case, backend: 'tfjs' | 'torch', init: string) =>
  defineRecipe({
    name: `tiny-kto-${c.stage.lossType}`,
    model: tinyModel,
    stage: { kind: 'kto', ...c.stage },
    // alpaca adds no tokens, so nothing but LoRA trains (TRL is handed the adapter alone)
    data: { source: inline([...c.records]), format: 'openai', template: 'alpaca', maxLength: 64 },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], init },
    args: { batchSize: BATCH, maxSteps: STEPS, learningRate: 1e-2, lrScheduler: 'constant', shuffle: false, logEvery: 1, seed: 3, saveEvery: 'never' },
    backend,
    device: 'cpu',
    output: { merge: false },
  })

type Metrics = Record<string, (number | null)[]>
interface TrlCase {
  examples: { completion: number[]; kl: number[] | null; label: boolean }[]
  ref: { completions: number[]; kl: number[] }
  loss: number[]
  metrics: Metrics
}

const stepsOf = (run: Run) => run.events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step')
const metricsOf = (run: Run): { loss: number[]; metrics: Metrics } => ({
  loss: stepsOf(run).map((s) => s.loss),
  metrics: Object.fromEntries(METRICS.map((m) => [m, stepsOf(run).map((s) => s.metrics?.[m] ?? null)])),
})
const maxAbs = (a: readonly (number | null)[], b: readonly (number | null)[]): number => {
  // a metric absent on one side only (TRL logs none for a side a batch lacks) is a mismatch
  if (a.length !== b.length || a.some((x, i) => (x === null) !== (b[i] === null))) return Infinity
  return Math.max(0, ...a.map((x, i) => (x === null ? 0 : Math.abs(x - b[i]!))))
}
/** max |Δ| over the per-step loss and each metric. */
function deltas(run: Run, reference: { loss: number[]; metrics: Metrics }): Record<string, number> {
  const mine = metricsOf(run)
  expect(mine.loss.length).toBe(STEPS)
  return Object.fromEntries([['loss', maxAbs(mine.loss, reference.loss)], ...METRICS.map((m) => [m, maxAbs(mine.metrics[m]!, reference.metrics[m]!)])])
}
const refOf = async (run: Run) => JSON.parse(await readFile(join(run.artifact('ref-logprobs'), 'ref-logprobs.json'), 'utf8')) as UnpairedRefLogprobs

let trl: TrlCase[]
let torchRuns: Run[]
let tfjsRuns: Run[]
let rerun: Run
const tokenized: { examples: Awaited<ReturnType<typeof requireKtoExamples>>['examples'] }[] = []

beforeAll(async () => {
  const cacheDir = tempDir('kto')
  const adapter = join(tempDir('kto-adapter'), 'adapter')
  // the data nodes (TypeScript only): the random model and the token ids TRL is given
  const torchBackend = createTorchBackend({ python }) // one probe of the Python environment for every run
  const data = await Promise.all(cases.map((c) => runRecipe(recipe(c, 'torch', 'default'), torchBackend, { cacheDir, until: 'tokenize' })))
  const modelDir = await resolveModelDir(data[0]!.artifact('model'))
  await writeStartAdapter(adapter, recipe(cases[0], 'torch', 'default'), modelDir)
  const requests = await Promise.all(data.map(async (run, i) => {
    const shards = await readPreferenceShards(run.artifact('tokenize'))
    tokenized[i] = { examples: (await requireKtoExamples(run.artifact('tokenize'))).examples }
    const given = cases[i]!.records === pairs
      ? { pairs: shards.pairs.map((p) => ({ prompt: [...p.promptIds], chosen: [...p.chosenIds], rejected: [...p.rejectedIds] })) }
      : { unpaired: shards.unpaired.map((u) => ({ prompt: [...u.promptIds], completion: [...u.completionIds], label: u.desirable })) }
    return { data: given, batchSize: BATCH, ...cases[i]!.stage }
  }))
  const trlResult = runTrl<{ cases: TrlCase[] }>('kto_reference.py', { model: modelDir, tokenizer: join(data[0]!.artifact('tokenize'), 'tokenizer'), out: tempDir('kto-trl'), adapter, seed: 3, steps: STEPS, learningRate: 1e-2, cases: requests })
  const torch = Promise.all(cases.map((c) => runRecipe(recipe(c, 'torch', adapter), torchBackend, { cacheDir })))
  tfjsRuns = []
  for (const c of cases) tfjsRuns.push(await runRecipe(recipe(c, 'tfjs', adapter), createTfjsBackend({ device: 'cpu' }), { cacheDir }))
  rerun = await runRecipe(recipe({ ...cases[0], stage: { ...cases[0].stage, beta: 0.5 } }, 'tfjs', adapter), createTfjsBackend({ device: 'cpu' }), { cacheDir })
  ;[{ cases: trl }, torchRuns] = await Promise.all([trlResult, torch])
}, 600_000)

describe('kto data as KTOTrainer prepares it', () => {
  it.each(cases.map((c, i) => [c.name, i] as const))("%s: the examples, their labels and KL completions are TRL's, in TRL's order", (_, i) => {
    const examples = tokenized[i]!.examples
    const klOf = cases[i]!.stage.lossType === 'kto' ? klCompletionOf(examples.length, BATCH) : undefined
    expect(examples.map((e, j) => ({ completion: [...e.completionIds], kl: klOf ? [...examples[klOf[j]!]!.completionIds] : null, label: e.desirable }))).toEqual(trl[i]!.examples)
  })
})

describe('kto on torch against TRL KTOTrainer', () => {
  it.each(cases.map((c, i) => [c.name, i] as const))("%s: ref-logprobs equal TRL's precomputed ref_logps and ref_KL_logps (1e-5)", async (_, i) => {
    const ref = await refOf(torchRuns[i]!)
    expect(maxAbs(ref.completions, trl[i]!.ref.completions)).toBeLessThan(1e-5)
    expect(ref.kl.length).toBe(trl[i]!.ref.kl.length)
    if (ref.kl.length > 0) expect(maxAbs(ref.kl, trl[i]!.ref.kl)).toBeLessThan(1e-5)
  })

  it.each(cases.map((c, i) => [c.name, i] as const))("%s: per-step loss and metrics equal KTOTrainer's (1e-5)", (_, i) => {
    const d = deltas(torchRuns[i]!, trl[i]!)
    for (const [name, delta] of Object.entries(d)) expect(delta, `${name}: tunekit ${JSON.stringify(metricsOf(torchRuns[i]!))}\nTRL ${JSON.stringify(trl[i])}`).toBeLessThan(1e-5)
  })
})

describe('kto on tfjs against torch', () => {
  it.each(cases.map((c, i) => [c.name, i] as const))('%s: reference log-probabilities, per-step loss and metrics agree (1e-4)', async (_, i) => {
    const [mine, theirs] = await Promise.all([refOf(tfjsRuns[i]!), refOf(torchRuns[i]!)])
    expect(maxAbs(mine.completions, theirs.completions)).toBeLessThan(1e-4)
    expect(maxAbs(mine.kl, theirs.kl)).toBeLessThan(1e-4)
    const d = deltas(tfjsRuns[i]!, metricsOf(torchRuns[i]!))
    for (const [name, delta] of Object.entries(d)) expect(delta, `${name}: tfjs ${JSON.stringify(metricsOf(tfjsRuns[i]!))}\ntorch ${JSON.stringify(metricsOf(torchRuns[i]!))}`).toBeLessThan(1e-4)
  })
})

describe("TRL's advice on the weights", () => {
  it('5 desirable and 3 undesirable examples weighted 1.2 and 1: both backends warn (TK472); the balanced pairs not', () => {
    const warned = (run: Run) => run.events.some((e) => e.type === 'log' && e.level === 'warn' && e.message.includes('TK472'))
    expect([torchRuns.map(warned), tfjsRuns.map(warned)]).toEqual([[false, true], [false, true]])
  })
})

describe('the reference is computed once', () => {
  it('changing beta re-runs train only: ref-logprobs is cached', () => {
    const status = (run: Run, id: string) => run.result.nodes.find((n) => n.id === id)?.status
    expect([status(rerun, 'ref-logprobs'), status(rerun, 'train')]).toEqual(['cached', 'ran'])
    expect(metricsOf(rerun).loss).not.toEqual(metricsOf(tfjsRuns[0]!).loss)
  })
})
