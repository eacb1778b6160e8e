// The grpo stage's loss against TRL 1.16's GRPOTrainer (test/trl/grpo_reference.py in .venv-trl,
// one process), on a tiny random model (hidden 64, 2 layers, the 322-token test tokenizer), cpu,
// float32, LoRA with B drawn non-zero, and a reference adapter drawn apart (TRL's frozen "ref" copy of a
// pretrained adapter, given other weights) so that the KL term has a gradient. Parity on the loss, not on sampling: the prompts are the recipe's (tokenize's prompt render),
// the completions are fixed token ids injected into TRL (its rollout_func), the rewards are the
// values of two TypeScript reward functions (weighted). For each case (lossType × beta × scaleRewards):
// tunekit torch's advantages, loss and LoRA gradients equal TRL's within 1e-5 (TRL builds the inputs
// with _generate_and_score_completions and computes _compute_loss); tfjs's agree with torch's within 1e-4.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineRecipe, groupAdvantages, inline, resolveModelDir, scoreCompletions, type GrpoExample } from '@tunekit/core'
import { loadTokenizer, readPrompts } from '@tunekit/data'
import { readTrainArtifact } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { selectEngine, tf } from '../../packages/tfjs/src/engine.ts'
import { join } from 'node:path'
import { loadTrained } from '../../packages/tfjs/src/methods/index.ts'
import { trainableEntries } from '../../packages/tfjs/src/methods/state.ts'
import { loadModel } from '../../packages/tfjs/src/model/load.ts'
import { grpoObjective, labelledPositions, type GrpoBatch, type GrpoOptions } from '../../packages/tfjs/src/objectives/grpo.ts'
import { answerRowsBatch, pickedLogps } from '../../packages/tfjs/src/objectives/pair-batch.ts'
import { runRecipe, tempDir } from '../torch/helpers.ts'
import { startTrl, tinyModel, writeStartAdapter } from './helpers.ts'

const G = 4
const words = ['hot', 'up']
const opposites = ['cold', 'down']
const exact = (completion: string, example: GrpoExample) => (completion.trim() === example.answer ? 1 : 0)
const short = (completion: string) => 1 / (1 + completion.length)
const cases = [
  { lossType: 'dapo', beta: 0.1, scaleRewards: 'group' },
  { lossType: 'grpo', beta: 0, scaleRewards: 'batch' },
  // bnpo is dapo's sum over one micro-batch's tokens: with one micro-batch a step, the same loss (left out for time)
  { lossType: 'dr_grpo', beta: 0.05, scaleRewards: 'none' },
] as const
const common = { epsilon: 0.2, temperature: 0.7, numGenerations: G, maxCompletionLength: 6, rewardWeights: [1, 0.5] }

const recipe = defineRecipe({
  name: 'tiny-grpo',
  model: tinyModel,
  stage: { kind: 'grpo', rewards: [exact, short], ...common },
  data: { source: inline(words.map((w, i) => ({ messages: [{ role: 'user', content: `The opposite of ${w} is?` }, { role: 'assistant', content: opposites[i]! }] }))), format: 'openai', template: 'alpaca', maxLength: 64 },
  lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
  args: { batchSize: 8 },
  backend: 'tfjs',
  device: 'cpu',
})

interface Side { loss: number; advantages: number[]; ref: number[]; grads: Record<string, number[]> }
const results: { trl: Side; tunekit: Side; tfjs: Side }[] = []
const trl = startTrl('grpo_reference.py')
afterAll(() => {
  trl.close()
  // the parity figures, for the record (docs/recipes.md quotes them)
  console.info(results.map((r, i) => `${cases[i]!.lossType}: |Δloss| torch–TRL ${Math.abs(r.tunekit.loss - r.trl.loss).toExponential(1)}, |Δgrad| ${gradDelta(r.tunekit, r.trl).toExponential(1)}; tfjs–torch ${Math.abs(r.tfjs.loss - r.tunekit.loss).toExponential(1)}, ${gradDelta(r.tfjs, r.tunekit).toExponential(1)}`).join('\n'))
})

const maxAbs = (a: readonly number[], b: readonly number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))
const gradDelta = (a: Side, b: Side) => {
  expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort())
  return Math.max(...Object.keys(a.grads).map((k) => maxAbs(a.grads[k]!, b.grads[k]!)))
}

beforeAll(async () => {
  const cacheDir = tempDir('grpo')
  const data = await runRecipe(recipe, createTfjsBackend({ device: 'cpu' }), { cacheDir, until: 'tokenize' })
  const modelDir = await resolveModelDir(data.artifact('model'))
  const adapter = join(tempDir('grpo-adapter'), 'adapter')
  await writeStartAdapter(adapter, recipe, modelDir)
  const reference = join(tempDir('grpo-reference'), 'adapter') // the policy's reference (a warm start's frozen copy), away from it
  await writeStartAdapter(reference, recipe, modelDir, [], 11)
  const tokenizer = join(data.artifact('tokenize'), 'tokenizer')
  const tok = await loadTokenizer(tokenizer)
  const prompts = await readPrompts(data.artifact('tokenize'))
  // per prompt: the right word, a wrong one, a longer one, and one cut at maxCompletionLength (no eos)
  const texts = prompts.flatMap((_, i) => [opposites[i]!, words[i]!, `${opposites[i]} it is`, 'no no no no no no'])
  const completions = texts.map((t) => [...tok.encode(t), tok.eos.id].slice(0, common.maxCompletionLength))
  const rows = prompts.flatMap((p) => Array.from({ length: G }, () => p))
  const decoded = completions.map((c) => tok.decode(c.at(-1) === tok.eos.id ? c.slice(0, -1) : c))
  const rewards = await scoreCompletions([exact, short], decoded, rows.map((p) => ({ id: p.id, messages: p.messages, answer: p.answer! })))
  await selectEngine('cpu')
  const model = await loadModel(modelDir, { vocabSize: tok.vocabSize })
  const state = loadTrained(model, await readTrainArtifact(adapter))
  const refState = loadTrained(model, await readTrainArtifact(reference))
  const entries = trainableEntries(state)
  for (const c of cases) {
    const o: GrpoOptions = { kind: 'grpo', rewards: ['exact', 'short'], ...common, ...c }
    const asked = trl.ask<{ trl: Side; tunekit: Side }>({ model: modelDir, tokenizer, adapter, reference, padId: tok.pad.id, out: tempDir('grpo-trl'), prompts: rows.map((p) => p.promptIds), completions, rewards, case: o })
    // tfjs: the same rows (right-padded), advantages from TypeScript, the reference with the adapter off
    const adv = groupAdvantages(rewards, o.rewardWeights, G, o.scaleRewards)
    const batch = answerRowsBatch(rows.map((p, j) => [Int32Array.from(p.promptIds), Int32Array.from(completions[j]!), new Uint8Array(completions[j]!.length).fill(1)]))
    const grpo: GrpoBatch = { ...batch, completions: rows.length, advantages: adv.advantages }
    if (o.beta !== 0) {
      const { positions, targets } = labelledPositions(batch)
      grpo.ref = pickedLogps(model, refState, batch, positions, targets, {}, o.temperature).dataSync() as Float32Array
    }
    const objective = grpoObjective(model, state, o)
    const { value, grads } = tf.variableGrads(() => tf.div(objective.lossSum(grpo, {}).loss, objective.units(grpo)) as tf.Scalar, entries.map(([, v]) => v))
    const tfjs: Side = { loss: value.dataSync()[0]!, advantages: adv.advantages, ref: grpo.ref ? [...grpo.ref] : [], grads: Object.fromEntries(entries.map(([k, v]) => [k, [...grads[v.name]!.dataSync()]])) }
    results.push({ ...(await asked), tfjs })
  }
}, 300_000)

describe("grpo loss on torch against TRL GRPOTrainer's _compute_loss", () => {
  it.each(cases.map((c, i) => [`${c.lossType} beta ${c.beta} scale ${c.scaleRewards}`, i] as const))('%s: advantages, loss and gradients (1e-5)', (_, i) => {
    const { trl: t, tunekit: k } = results[i]!
    expect(maxAbs(k.advantages, t.advantages)).toBeLessThan(1e-5)
    expect(k.ref.length).toBe(t.ref.length)
    if (t.ref.length > 0) expect(maxAbs(k.ref, t.ref), `ref: tunekit ${k.ref.slice(0, 6)}\nTRL ${t.ref.slice(0, 6)}`).toBeLessThan(1e-5)
    expect(Math.abs(k.loss - t.loss)).toBeLessThan(1e-5)
    expect(gradDelta(k, t)).toBeLessThan(1e-5)
    expect(Object.values(t.grads).flat().some((g) => Math.abs(g) > 1e-4)).toBe(true) // a gradient to compare
  })
})

describe('grpo loss on tfjs against torch', () => {
  it.each(cases.map((c, i) => [`${c.lossType} beta ${c.beta} scale ${c.scaleRewards}`, i] as const))('%s: advantages, loss and gradients (1e-4)', (_, i) => {
    const { tunekit: k, tfjs } = results[i]!
    expect(maxAbs(tfjs.advantages, k.advantages)).toBeLessThan(1e-4)
    expect(Math.abs(tfjs.loss - k.loss)).toBeLessThan(1e-4)
    expect(gradDelta(tfjs, k)).toBeLessThan(1e-4)
  })
})
