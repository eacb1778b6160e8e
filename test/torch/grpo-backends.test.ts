// The grpo stage's training on both backends from the same start: the same prompts, the parity
// test's fixed completions injected where sampling hands them to the step (tfjs's grpoBatches in
// trainLoop; torch's grpo_update, test/torch/grpo_steps.py, one process), the TypeScript rewards,
// several AdamW steps with two micro-batches each and β > 0: per-step losses within 1e-4 relative,
// and the trained LoRA tensors and their logits agree. (Sampling differs between the backends'
// random generators, so an end-to-end run cannot be compared step for step.)
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { compile, defineRecipe, grpoExampleOf, inline, nodeParams, resolveModelDir, scoreGrpoStep, type GrpoExample, type GrpoScoring } from '@tunekit/core'
import { loadTokenizer, readPrompts } from '@tunekit/data'
import { readTrainArtifact } from '@tunekit/hf'
import { createTfjsBackend, forward } from '@tunekit/tfjs'
import { selectEngine } from '../../packages/tfjs/src/engine.ts'
import { loadTrained } from '../../packages/tfjs/src/methods/index.ts'
import { trainableEntries } from '../../packages/tfjs/src/methods/state.ts'
import { loadModel } from '../../packages/tfjs/src/model/load.ts'
import { grpoObjective } from '../../packages/tfjs/src/objectives/grpo.ts'
import { grpoBatches } from '../../packages/tfjs/src/objectives/grpo-nodes.ts'
import { trainLoop } from '../../packages/tfjs/src/train/loop.ts'
import { optimizerSettings } from '../../packages/tfjs/src/train/optimizer.ts'
import { tinyModel, writeStartAdapter } from '../trl/helpers.ts'
import { python, repoRoot, runRecipe, tempDir } from './helpers.ts'
import { maxRel } from './logits.ts'

const STEPS = 3
const G = 4
const words = ['hot', 'up']
const opposites = ['cold', 'down']
const exact = (completion: string, example: GrpoExample) => (completion.trim() === example.answer ? 1 : 0)
const short = (completion: string) => 1 / (1 + completion.length)

const recipe = defineRecipe({
  name: 'tiny-grpo-backends',
  model: tinyModel,
  stage: { kind: 'grpo', rewards: [exact, short], numGenerations: G, beta: 0.1, epsilon: 0.2, temperature: 0.7, maxCompletionLength: 6, rewardWeights: [1, 0.5] },
  data: { source: inline(words.map((w, i) => ({ messages: [{ role: 'user', content: `The opposite of ${w} is?` }, { role: 'assistant', content: opposites[i]! }] }))), format: 'openai', template: 'alpaca', maxLength: 64 },
  lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
  // 8 completions a step in two micro-batches of 4
  args: { batchSize: 4, gradientAccumulationSteps: 2, maxSteps: STEPS, learningRate: 1e-2, lrScheduler: 'constant', logEvery: 1, saveEvery: 'never', seed: 3 },
  backend: 'tfjs',
  device: 'cpu',
})

interface Side { losses: number[]; tensors: Record<string, number[]>; logits: number[] }
let torch: Side
let tfjs: Side

beforeAll(async () => {
  const cacheDir = tempDir('grpo-backends')
  const data = await runRecipe(recipe, createTfjsBackend({ device: 'cpu' }), { cacheDir, until: 'tokenize' })
  const graph = await compile(recipe, { baseDir: repoRoot, cacheDir })
  const p = nodeParams('train', graph.nodes.find((n) => n.id === 'train')!)
  const o = p.objective
  if (o?.kind !== 'grpo') throw new Error('no grpo objective')
  const modelDir = await resolveModelDir(data.artifact('model'))
  const adapter = join(tempDir('grpo-backends-adapter'), 'adapter')
  await writeStartAdapter(adapter, recipe, modelDir) // B drawn non-zero: the policy is away from its reference (the adapter off)
  const tok = await loadTokenizer(join(data.artifact('tokenize'), 'tokenizer'))
  const prompts = await readPrompts(data.artifact('tokenize'))
  // per prompt: the right word, a wrong one, a longer one, and one cut at maxCompletionLength (no eos)
  const texts = prompts.flatMap((_, i) => [opposites[i]!, words[i]!, `${opposites[i]} it is`, 'no no no no no no'])
  const completions = texts.map((t) => [...tok.encode(t), tok.eos.id].slice(0, o.maxCompletionLength))
  const rows = prompts.flatMap((row) => Array.from({ length: G }, () => row))
  const scoring: GrpoScoring = { rewards: [exact, short], rewardWeights: o.rewardWeights, numGenerations: G, scaleRewards: o.scaleRewards, eosId: tok.eos.id, decode: (ids) => tok.decode(ids) }
  const scored = await scoreGrpoStep(scoring, completions, rows.map(grpoExampleOf))
  const ids = [...rows[0]!.promptIds, ...completions[0]!]

  const r = spawnSync(python, [join(import.meta.dirname, 'grpo_steps.py')], {
    encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' },
    input: `${JSON.stringify({ params: p, model: data.artifact('model'), tokenize: data.artifact('tokenize'), adapter, out: tempDir('grpo-backends-torch'), prompts: rows.map((row) => row.promptIds), completions, rewards: scored.perFunction, padId: tok.pad.id, steps: STEPS, ids })}\n`,
  })
  if (r.status !== 0) throw new Error(r.stderr.slice(-3000))
  torch = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('result '))!.slice('result '.length)) as Side

  await selectEngine('cpu')
  const model = await loadModel(modelDir, { vocabSize: tok.vocabSize })
  const state = loadTrained(model, await readTrainArtifact(adapter))
  const a = p.args
  const result = await trainLoop({
    model, adapter: state, objective: grpoObjective(model, state, o),
    source: { totalSteps: STEPS, stepsPerEpoch: STEPS, microBatches: () => grpoBatches({ model, reference: undefined, o, batchSize: a.batchSize }, rows, completions, scored), microBatchIndex: (step) => step * a.gradientAccumulationSteps },
    settings: { learningRate: a.learningRate, lrScheduler: a.lrScheduler, warmupSteps: 0, maxGradNorm: a.maxGradNorm, optimizer: optimizerSettings(a, p.method), seed: a.seed, gradientCheckpointing: false, logEvery: 1, evalEvery: 'never', saveEvery: 'never' },
  })
  const logits = forward(model, state, { batch: 1, seq: ids.length, ids: Int32Array.from(ids), positions: Int32Array.from(ids, (_, t) => t), segments: new Int32Array(ids.length) })
  tfjs = { losses: result.losses, tensors: Object.fromEntries(trainableEntries(state).map(([k, v]) => [k, [...v.dataSync()]])), logits: [...logits.dataSync()] }
  console.info(`grpo backends: per-step loss torch ${torch.losses.map((l) => l.toFixed(6)).join(', ')}; tfjs ${tfjs.losses.map((l) => l.toFixed(6)).join(', ')}; max rel ${maxRel(tfjs.losses, torch.losses).toExponential(1)}`)
}, 300_000)

describe('grpo on tfjs and torch from the same start and completions', () => {
  it(`${STEPS} steps: per-step losses within 1e-4 relative`, () => {
    expect(torch.losses.length).toBe(STEPS)
    expect(new Set(torch.losses.map((l) => l.toFixed(6))).size).toBe(STEPS) // the steps moved the policy
    expect(maxRel(tfjs.losses, torch.losses)).toBeLessThan(1e-4)
  })

  it('the trained LoRA tensors and their logits agree', () => {
    expect(Object.keys(tfjs.tensors).sort()).toEqual(Object.keys(torch.tensors).sort())
    const delta = Math.max(...Object.keys(torch.tensors).map((k) => Math.max(...torch.tensors[k]!.map((x, i) => Math.abs(x - tfjs.tensors[k]![i]!)))))
    const logits = Math.max(...torch.logits.map((x, i) => Math.abs(x - tfjs.logits[i]!)))
    console.info(`grpo backends: trained tensors max |Δ| ${delta.toExponential(1)}, logits max |Δ| ${logits.toExponential(1)}`)
    expect(delta).toBeLessThan(1e-4)
    expect(logits).toBeLessThan(1e-3)
  })
})
