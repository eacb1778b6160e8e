// The pretrain stage on both backends through the real pipeline: a .txt file (one document per
// line) → raw-text tokens with eos per document, every token a label → packed rows → LoRA on a
// tiny random model (falling loss) → the eval node's loss and perplexity.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defineRecipe, file, type EvalReport, type Recipe } from '@tunekit/core'
import { readShards, sampleOf, type BatchPlan, type TokenizeReport } from '@tunekit/data'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { python, runRecipe, tinyModel, type Run } from './helpers.ts'

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T

const pretrain = (backend: 'tfjs' | 'torch'): Recipe<'mistral'> =>
  defineRecipe<'mistral', 'pretrain'>({
    name: `tiny-pretrain-${backend}`,
    model: tinyModel,
    stage: { kind: 'pretrain' },
    // 40 one-line documents of a few patterns; 4 held out for the eval node
    data: { source: file('test/fixtures/data/pretrain.txt'), format: 'text', maxLength: 64, split: { eval: 4, seed: 0 } },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], modulesToSave: ['lm_head'] },
    args: { batchSize: 2, epochs: 2, learningRate: 1e-2, logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: 'never' },
    backend,
    device: backend === 'torch' ? 'cpu' : 'auto', // tfjs: wasm, as tiny-chat
    output: { merge: false },
  })

const runs: Partial<Record<'tfjs' | 'torch', Promise<Run>>> = {}
const run = (backend: 'tfjs' | 'torch'): Promise<Run> =>
  (runs[backend] ??= runRecipe(pretrain(backend), backend === 'tfjs' ? createTfjsBackend() : createTorchBackend({ python })))

describe.each(['tfjs', 'torch'] as const)('the pretrain stage on %s', { timeout: 400_000 }, (backend) => {
  it('trains every token of every document, eos closing each, with packed rows', async () => {
    const r = await run(backend)
    const report = readJson<TokenizeReport & { trainableTokenIds: number[] }>(join(r.artifact('tokenize'), 'report.json'))
    expect(report).toMatchObject({ conversations: 40, samples: 40, maskMode: 'all', template: 'none (raw text)', truncated: 0 })
    expect(report.trainedTokens).toBe(report.tokens - report.samples) // every label but position 0, which predicts nothing
    const shards = await readShards(r.artifact('tokenize'))
    for (let i = 0; i < shards.index.count; i++) {
      const { ids, mask } = sampleOf(shards, i)
      expect([...mask].every((m) => m === 1)).toBe(true)
      expect(ids[0]).toBe(shards.index.bosId)
      expect(ids.at(-1)).toBe(shards.index.eosId)
    }
    const plan = readJson<BatchPlan>(join(r.artifact('collate'), 'plan.json'))
    expect(plan.packing).toBe(true)
    expect(plan.epochsPlan[0]!.microBatches.some((b) => b.rows.some((row) => row.length > 1))).toBe(true)
  })

  it('has a falling loss', async () => {
    const losses = (await run(backend)).events.flatMap((e) => (e.type === 'step' ? [e.loss] : []))
    expect(losses.length).toBeGreaterThan(4)
    expect(losses.every(Number.isFinite)).toBe(true)
    // ≈ ln(32000) = 10.4 from random weights; 36 steps of LoRA + lm_head bring it to ≈ 8.2
    expect(losses[0]!).toBeGreaterThan(9.5)
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.85)
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)))
  })

  it('ends with the eval node: eval loss and perplexity in events and eval.json', async () => {
    const r = await run(backend)
    const report = readJson<EvalReport>(join(r.artifact('eval'), 'eval.json'))
    expect(report.samples).toBe(4)
    expect(report.perplexity).toBeCloseTo(Math.exp(report.loss), 6)
    const evals = r.events.filter((e) => e.type === 'eval')
    expect(evals).toEqual([expect.objectContaining({ node: 'eval', loss: report.loss, perplexity: report.perplexity, tokens: report.tokens })])
  })
})

describe('the pretrain stage on both backends', { timeout: 400_000 }, () => {
  it('gives the same eval loss (same data, plan and initial adapter)', async () => {
    const [a, b] = await Promise.all([run('tfjs'), run('torch')])
    const loss = (r: Run): number => readJson<EvalReport>(join(r.artifact('eval'), 'eval.json')).loss
    expect(Math.abs(loss(a) - loss(b)) / loss(b)).toBeLessThan(1e-3)
  })
})
