// The score node on both backends through the real pipeline: a tiny random model, hotel dialogues
// in sharegpt format with tool calls, LoRA trained on each backend from the same initial adapter
// (a few steps), then the held-out turns answered greedily by the trained model and by the base.
// Both backends answer the same prompt ids and decode with the same tokenizer, so their answers
// agree; the reports are the scores of those answers.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defineRecipe, inline, type Recipe, type RunEvent, type ScorePrediction, type ScoreReport } from '@tunekit/core'
import { scoreHeldOut } from '@tunekit/eval'
import { hotelDialogues } from '@tunekit/recipes'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { python, runRecipe, tinyModel, type Run } from './helpers.ts'

const scoring = (backend: 'tfjs' | 'torch'): Recipe<'mistral'> =>
  defineRecipe<'mistral'>({
    name: `tiny-score-${backend}`,
    model: tinyModel,
    tokens: { chatml: true },
    data: { source: inline(hotelDialogues({ seed: 2, count: 24, tools: false })), format: 'sharegpt', maxLength: 200, split: { eval: 4, seed: 0 } },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], trainableTokens: true },
    args: { batchSize: 4, maxSteps: 4, learningRate: 1e-2, seed: 3, evalEvery: 'never', saveEvery: 'never' },
    eval: { metrics: ['bleu4', 'toolCalls'], maxNewTokens: 12, tokenize: 'zh', base: true },
    backend,
    device: backend === 'torch' ? 'cpu' : 'auto',
    output: { merge: false },
  })

const runs: Partial<Record<'tfjs' | 'torch', Promise<Run>>> = {}
const run = (backend: 'tfjs' | 'torch'): Promise<Run> =>
  (runs[backend] ??= runRecipe(scoring(backend), backend === 'tfjs' ? createTfjsBackend() : createTorchBackend({ python })))
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T
const predictions = (r: Run, id: string): ScorePrediction[] =>
  readFileSync(join(r.artifact(id), 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ScorePrediction)

describe.each(['tfjs', 'torch'] as const)('the score node on %s', { timeout: 400_000 }, (backend) => {
  it('answers the 4 held-out turns with the trained model and the base, and scores the answers', async () => {
    const r = await run(backend)
    for (const [id, model] of [['score', 'trained'], ['score-base', 'base']] as const) {
      const report = readJson<ScoreReport>(join(r.artifact(id), 'report.json'))
      const lines = predictions(r, id)
      expect(report).toMatchObject({ model, examples: 4 })
      expect(lines).toHaveLength(4)
      // the report is the score of the answers it lists
      expect(report.metrics).toEqual(scoreHeldOut(['bleu4', 'toolCalls'], lines.map((l) => l.prediction), lines.map((l) => l.reference), { tokenize: 'zh' }))
      const event = r.events.find((e): e is Extract<RunEvent, { type: 'score' }> => e.type === 'score' && e.node === id)
      expect(event).toMatchObject({ model, examples: 4, metrics: report.metrics })
    }
  })
})

describe('the score node on both backends', { timeout: 400_000 }, () => {
  it('gives the base model the same answers (same prompt ids, greedy, same weights)', async () => {
    const [a, b] = await Promise.all([run('tfjs'), run('torch')])
    expect(predictions(b, 'score-base')).toEqual(predictions(a, 'score-base'))
  })
})
