import { isTunekitError } from '@tunekit/core'
import { listCheckpoints, readCheckpoint, type LoraSpec } from '@tunekit/hf'
import { beforeAll, describe, expect, it } from 'vitest'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { createAdapter } from '../../packages/tfjs/src/methods/lora.ts'
import { disposeAdapter } from '../../packages/tfjs/src/methods/state.ts'
import { loadModel } from '../../packages/tfjs/src/model/load.ts'
import type { DecoderModel } from '../../packages/tfjs/src/model/types.ts'
import { toTrainBatch, type TrainBatch } from '../../packages/tfjs/src/train/batch.ts'
import { checkpointWriter } from '../../packages/tfjs/src/train/checkpoint.ts'
import { trainLoop, type TrainSettings } from '../../packages/tfjs/src/train/loop.ts'
import { listSource } from '../../packages/tfjs/src/train/plan-source.ts'
import { lrMultiplier } from '../../packages/tfjs/src/train/schedule.ts'
import { adapterFor, exampleBatch, tinyModelDir, tmp, useEngine } from './helpers.ts'

let model: DecoderModel
const spec: LoraSpec = { rank: 4, alpha: 8, dropout: 0.1, targetModules: 'all-linear' }
const settings: TrainSettings = {
  learningRate: 5e-3, lrScheduler: 'cosine', warmupSteps: 2, maxGradNorm: 1,
  optimizer: { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 },
  seed: 11, gradientCheckpointing: false, logEvery: 1, evalEvery: 3, saveEvery: 3,
}

beforeAll(async () => {
  await useEngine()
  const { dir } = await tinyModelDir('mistral', { numHiddenLayers: 1 })
  model = await loadModel(dir)
})

// Two micro-batches per step (gradient accumulation), different lengths.
const steps: TrainBatch[][] = Array.from({ length: 6 }, (_, s) => [exampleBatch(7, 96, 2, s), exampleBatch(5, 96, 1, s + 10)])

describe('training loop', () => {
  it('a resumed run continues the exact loss sequence of an uninterrupted run', async () => {
    const full = await adapterFor(model, spec, new Map())
    const straight = await trainLoop({ model, adapter: full.adapter, source: listSource(steps, [exampleBatch(6, 96, 1, 99)]), settings })
    disposeAdapter(full.adapter)
    expect(straight.losses).toHaveLength(6)
    expect(straight.evals.map((e) => e.step)).toEqual([3, 6])

    // Interrupt after step 3 (Ctrl-C), then resume from the checkpoint in a fresh adapter.
    const work = await tmp()
    const first = await adapterFor(model, spec, new Map())
    const abort = new AbortController()
    const save = checkpointWriter(work, { method: { kind: 'lora', spec }, family: 'mistral', baseModel: null }, 2)
    const events: string[] = []
    const stopped = await trainLoop({
      model, adapter: first.adapter, source: listSource(steps), settings: { ...settings, saveEvery: 'never' }, checkpoint: save, signal: abort.signal,
      emit: (e) => {
        events.push(e.type)
        if (e.type === 'step' && e.step === 3) abort.abort()
      },
    })
    disposeAdapter(first.adapter)
    expect(stopped).toMatchObject({ interrupted: true, step: 3 })
    expect(events).toEqual(['step', 'step', 'step', 'checkpoint'])
    const ckpt = await readCheckpoint(stopped.lastCheckpoint!)
    expect(ckpt.trainerState).toMatchObject({ step: 3, microBatch: 6, backend: 'tfjs' })
    const resumedAdapter = createAdapter(model, spec, ckpt.adapter.tensors)
    const resumed = await trainLoop({ model, adapter: resumedAdapter, source: listSource(steps), settings: { ...settings, saveEvery: 'never' }, resume: { trainerState: ckpt.trainerState, optimizer: ckpt.optimizer }, checkpoint: save })
    disposeAdapter(resumedAdapter)
    expect(resumed.losses).toEqual(straight.losses)
    expect((await listCheckpoints(work)).map((c) => c.step)).toEqual([3, 6])
  })

  it('accumulating two micro-batches equals one batch of both rows (loss over all trained tokens)', async () => {
    const a = exampleBatch(6, 96, 2, 1)
    const b = exampleBatch(6, 96, 4, 2)
    const both = toTrainBatch({
      rows: 2, length: 6,
      ids: Int32Array.from([...a.ids, ...b.ids]),
      mask: Uint8Array.from([...a.targets, ...b.targets].map((t, i, all) => (i % 6 > 0 && all[i - 1]! >= 0 ? 1 : 0))),
      positions: Int32Array.from([...a.positions, ...b.positions]),
      segments: new Int32Array(12),
    })
    expect(both.trained).toBe(a.trained + b.trained)
    const run = async (batches: TrainBatch[]) => {
      const { adapter } = await adapterFor(model, { ...spec, dropout: 0 }, new Map())
      const r = await trainLoop({ model, adapter, source: listSource([batches, batches]), settings: { ...settings, evalEvery: 'never' } })
      const values = adapter.lora.values().next().value!.a.dataSync().slice()
      disposeAdapter(adapter)
      return { losses: r.losses, values }
    }
    const accumulated = await run([a, b])
    const single = await run([both])
    accumulated.losses.forEach((l, i) => expect(l).toBeCloseTo(single.losses[i]!, 5))
    accumulated.values.forEach((v, i) => expect(v).toBeCloseTo(single.values[i]!, 6))
  })

  it('a non-finite loss stops the run with a checkpoint and NonFiniteLoss', async () => {
    const { adapter, initial } = await adapterFor(model, spec, new Map())
    const work = await tmp()
    const key = [...initial.keys()].find((k) => k.endsWith('lora_B.weight'))!
    adapter.lora.values().next().value!.b.assign(tf.fill(initial.get(key)!.shape as [number, number], NaN))
    const err = await trainLoop({ model, adapter, source: listSource(steps), settings, checkpoint: checkpointWriter(work, { method: { kind: 'lora', spec }, family: 'mistral', baseModel: null }, 2) }).catch((e: unknown) => e)
    disposeAdapter(adapter)
    expect(isTunekitError(err) && err.code).toBe('TK401')
    expect((err as Error).message).toMatchInlineSnapshot(`
      "Loss became non-finite
      ✖ TK401 the loss at step 1 is NaN; a checkpoint was written before stopping → at args.learningRate
        value: 0.005
        fix: Lower args.learningRate, keep args.maxGradNorm set, or check the data for empty samples."
    `)
    expect((await listCheckpoints(work)).map((c) => c.step)).toEqual([0])
  })

  it('schedules follow transformers: warmup from 0, linear and cosine decay to 0', () => {
    expect([0, 1, 2, 3, 6, 10].map((s) => lrMultiplier('linear', s, 2, 10))).toEqual([0, 0.5, 1, 0.875, 0.5, 0])
    for (const [i, want] of [1, 0.5, 0].entries()) expect(lrMultiplier('cosine', [2, 6, 10][i]!, 2, 10)).toBeCloseTo(want, 12)
    expect([0, 1, 5].map((s) => lrMultiplier('constant_with_warmup', s, 2, 10))).toEqual([0, 0.5, 1])
    expect(lrMultiplier('constant', 0, 2, 10)).toBe(1)
  })
})
