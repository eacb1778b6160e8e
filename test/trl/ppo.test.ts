// The ppo stage's loss against TRL 0.29.1's PPOTrainer (TRL 1.x ships none): test/trl/ppo_reference.py in
// .venv-trl with 0.29.1's unpacked wheel first on PYTHONPATH, one process, on a tiny random model (hidden
// 64, 2 layers, the 322-token test tokenizer), cpu, float32, LoRA with B drawn non-zero. Parity on the
// loss, not on sampling: the prompts are the recipe's (tokenize's prompt render), the completions are
// fixed token ids (one cut at responseLength without eos), the reward-model scores are given numbers.
// The rollout reads one policy adapter and value head; the loss is of another pair (as after an
// optimizer step of an earlier ppo epoch), so that both clips bite. For each case: tunekit torch's
// rollout (log-probs, reference log-probs, values), advantages, returns, loss and gradients (LoRA and
// the value head) equal TRL's within 1e-5; tfjs's equal torch's within 1e-4.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineRecipe, inline, mulberry32, ppoAdvantages, resolveModelDir } from '@tunekit/core'
import { loadTokenizer, readPrompts } from '@tunekit/data'
import { readTrainArtifact } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { join } from 'node:path'
import { selectEngine, tf, type Var2D } from '../../packages/tfjs/src/engine.ts'
import { loadTrained } from '../../packages/tfjs/src/methods/index.ts'
import { trainableEntries } from '../../packages/tfjs/src/methods/state.ts'
import { loadModel } from '../../packages/tfjs/src/model/load.ts'
import { ppoBatch, ppoLoss, type PpoOptions, type PpoRow } from '../../packages/tfjs/src/objectives/ppo.ts'
import { rolloutPass } from '../../packages/tfjs/src/objectives/ppo-nodes.ts'
import { trl029Path } from '../python.ts'
import { runRecipe, tempDir } from '../torch/helpers.ts'
import { maxAbs, startTrl, tinyModel, writeStartAdapter } from './helpers.ts'

const words = ['hot', 'up']
const opposites = ['cold', 'down']
const cases = [
  { klCoef: 0.05, klEstimator: 'k1', whitenRewards: false, missingEosPenalty: 1, gamma: 1, lam: 0.95, cliprange: 0.2, cliprangeValue: 0.2, vfCoef: 0.1 },
  { klCoef: 0.2, klEstimator: 'k3', whitenRewards: true, gamma: 0.9, lam: 0.8, cliprange: 0.05, cliprangeValue: 0.02, vfCoef: 0.5 },
] as const
const common = { temperature: 0.7, responseLength: 6, numPpoEpochs: 1, numMiniBatches: 1 }

const rm = defineRecipe({
  name: 'tiny-rm', model: tinyModel, stage: { kind: 'rm' },
  data: { source: inline(words.map((w, i) => ({ prompt: `The opposite of ${w} is?`, chosen: opposites[i]!, rejected: w }))), format: 'openai', template: 'alpaca', maxLength: 96 },
  lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'] }, backend: 'tfjs', device: 'cpu',
})
const recipe = defineRecipe({
  name: 'tiny-ppo',
  model: tinyModel,
  stage: { kind: 'ppo', rewardModel: rm, ...common },
  data: { source: inline(words.map((w, i) => ({ messages: [{ role: 'user', content: `The opposite of ${w} is?` }, { role: 'assistant', content: opposites[i]! }] }))), format: 'openai', template: 'alpaca', maxLength: 64 },
  lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
  args: { batchSize: 8 },
  backend: 'tfjs',
  device: 'cpu',
})

interface Side { logprobs: number[][]; ref: number[][]; values: number[][]; advantages: number[][]; returns: number[][]; loss: number; pgLoss: number; vfLoss: number; grads: Record<string, number[]> }
const results: { trl: Side; tunekit: Side; tfjs: Side }[] = []
const trl = startTrl('ppo_reference.py', { PYTHONPATH: trl029Path() })
const flat = (rows: number[][]) => rows.flat()
const gradDelta = (a: Side, b: Side) => {
  expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort())
  return Math.max(...Object.keys(a.grads).map((k) => maxAbs(a.grads[k]!, b.grads[k]!)))
}
afterAll(() => {
  trl.close()
  // the parity figures, for the record (docs/recipes.md quotes them)
  console.info(results.map((r, i) => `case ${i}: |Δloss| torch–TRL ${Math.abs(r.tunekit.loss - r.trl.loss).toExponential(1)}, |Δgrad| ${gradDelta(r.tunekit, r.trl).toExponential(1)}; tfjs–torch ${Math.abs(r.tfjs.loss - r.tunekit.loss).toExponential(1)}, ${gradDelta(r.tfjs, r.tunekit).toExponential(1)}`).join('\n'))
})

/** A value head [1, hidden] drawn U(−0.5, 0.5) from `seed`. */
const drawHead = (hidden: number, seed: number): number[][] => {
  const next = mulberry32(seed)
  return [Array.from({ length: hidden }, () => next() - 0.5)]
}

beforeAll(async () => {
  const data = await runRecipe(recipe, createTfjsBackend({ device: 'cpu' }), { cacheDir: tempDir('ppo'), until: 'tokenize' })
  const modelDir = await resolveModelDir(data.artifact('model'))
  const adapter = join(tempDir('ppo-adapter'), 'adapter')
  await writeStartAdapter(adapter, recipe, modelDir)
  const trained = join(tempDir('ppo-trained'), 'adapter') // the policy after an update: its ratio to the rollout's is not 1
  await writeStartAdapter(trained, recipe, modelDir, [], 11)
  const tok = await loadTokenizer(join(data.artifact('tokenize'), 'tokenizer'))
  expect(tok.pad.id).not.toBe(tok.eos.id) // TRL's PPOTrainer reads padding as pad ids
  const prompts = await readPrompts(data.artifact('tokenize'))
  // per prompt: the right word, a wrong one, a longer one, and one cut at responseLength (no eos)
  const texts = prompts.flatMap((_, i) => [opposites[i]!, words[i]!, `${opposites[i]} it is`, 'no no no no no no'])
  const completions = texts.map((t) => [...tok.encode(t), tok.eos.id].slice(0, common.responseLength))
  const rows = prompts.flatMap((p) => Array.from({ length: 4 }, () => p.promptIds))
  const scores = completions.map((_, j) => [0.9, -0.4, 0.2, -1.1][j % 4]! + 0.1 * Math.floor(j / 4))
  const valueHead = drawHead(64, 5)
  const trainedValueHead = drawHead(64, 6).map((row) => row.map((x, k) => valueHead[0]![k]! + 0.1 * x))
  await selectEngine('cpu')
  const model = await loadModel(modelDir, { vocabSize: tok.vocabSize })
  const rollout = loadTrained(model, await readTrainArtifact(adapter))
  const policy = loadTrained(model, await readTrainArtifact(trained))
  const width = Math.max(...completions.map((c) => c.length))
  for (const c of cases) {
    const o: PpoOptions = { kind: 'ppo', rewardModel: { recipe: 'tiny-rm' }, ...common, ...c }
    const asked = trl.ask<{ trl: Side; tunekit: Side }>({ model: modelDir, adapter, trained, padId: tok.pad.id, eosId: tok.eos.id, prompts: rows, completions, scores, valueHead, trainedValueHead, case: o })
    // tfjs: the rollout's pass (the reward model's scores replaced by the given ones), core's advantages, ppoLoss's gradients
    const head = tf.variable(tf.tensor2d(valueHead), false) as Var2D
    const pass = rolloutPass({ model, policy: rollout, reference: undefined, valueHead: head }, rows.map((promptIds, j) => ({ promptIds, completion: completions[j]! })), width, o)
    const hasEos = completions.map((x) => x.includes(tok.eos.id))
    const a = ppoAdvantages(o, { ...pass, scores, hasEos })
    const ppoRows = rows.map((promptIds, j): PpoRow => ({ promptIds, completion: completions[j]!, logprobs: pass.logprobs[j]!, advantages: a.advantages[j]!, returns: a.returns[j]!, values: a.values[j]! }))
    const trainedHead = tf.variable(tf.tensor2d(trainedValueHead), true) as Var2D
    const entries: [string, tf.Variable][] = [...trainableEntries(policy), ['v_head.summary.weight', trainedHead]]
    let parts = { pgLoss: 0, vfLoss: 0 }
    const { value, grads } = tf.variableGrads(() => {
      const { loss, stats } = ppoLoss(o, model, policy, trainedHead, ppoBatch(ppoRows))
      parts = { pgLoss: stats['loss/policy_avg']!, vfLoss: stats['loss/value_avg']! }
      return loss
    }, entries.map(([, v]) => v))
    const tfjs: Side = {
      logprobs: pass.logprobs, ref: pass.refLogprobs, values: a.values, advantages: a.advantages, returns: a.returns, loss: value.dataSync()[0]!, ...parts,
      grads: Object.fromEntries(entries.map(([k, v]) => [k, [...grads[v.name]!.dataSync()]])),
    }
    head.dispose()
    trainedHead.dispose()
    results.push({ ...(await asked), tfjs })
  }
}, 300_000)

describe("ppo loss on torch against TRL 0.29.1 PPOTrainer.train()'s rollout and loss", () => {
  it.each(cases.map((c, i) => [`${c.klEstimator} whiten ${c.whitenRewards} γ ${c.gamma} λ ${c.lam}`, i] as const))('%s: rollout, advantages, returns, loss and gradients (1e-5)', (_, i) => {
    const { trl: t, tunekit: k } = results[i]!
    for (const key of ['logprobs', 'ref', 'values', 'advantages', 'returns'] as const) {
      expect(k[key].map((r) => r.length), key).toEqual(t[key].map((r) => r.length))
      expect(maxAbs(flat(k[key]), flat(t[key])), key).toBeLessThan(1e-5)
    }
    expect(Math.abs(k.loss - t.loss)).toBeLessThan(1e-5)
    expect(Math.abs(k.pgLoss - t.pgLoss)).toBeLessThan(1e-5)
    expect(Math.abs(k.vfLoss - t.vfLoss)).toBeLessThan(1e-5)
    expect(t.vfLoss).toBeGreaterThan(0)
    expect(gradDelta(k, t)).toBeLessThan(1e-5)
  })
})

describe('ppo loss on tfjs against torch', () => {
  it.each(cases.map((c, i) => [`${c.klEstimator} whiten ${c.whitenRewards}`, i] as const))('%s: rollout, advantages, loss and gradients (1e-4)', (_, i) => {
    const { tunekit: k, tfjs: j } = results[i]!
    for (const key of ['logprobs', 'ref', 'values', 'advantages', 'returns'] as const) expect(maxAbs(flat(j[key]), flat(k[key])), key).toBeLessThan(1e-4)
    expect(Math.abs(j.loss - k.loss)).toBeLessThan(1e-4)
    expect(gradDelta(j, k)).toBeLessThan(1e-4)
  })
})
