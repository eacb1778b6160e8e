// full and freeze on both backends, on a tiny random model (hidden 64, 2 layers, the 322-token test
// tokenizer: full training's vocabulary-sized tensors would cost most of the time), cpu, float32:
// per-step losses agree over 10 steps, each backend's merged folder loads in transformers with
// tfjs's own logits, freeze leaves its frozen tensors bit-identical, a tfjs checkpoint resumes on
// torch to the same losses, and `plan` counts what torch trains.
import { cpSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, plan, type MethodInputFor } from '@tunekit/core'
import { openModelWeights, readSafetensors, resolveModelDir } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { tinyTokenizer } from '../data/helpers.ts'
import { python, records, repoRoot, runRecipe, type Run } from './helpers.ts'
import { logged, losses, maxRel, relDiff, tfjsLogits, torchLogits, TINY_IDS } from './logits.ts'

const STEPS = 10
const model = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
} as const

// Type arguments given: a method of either kind, decided at run time.
const recipe = (method: MethodInputFor<'mistral'>, backend: 'tfjs' | 'torch') =>
  defineRecipe<'mistral', 'sft', MethodInputFor<'mistral'>>({
    name: `tiny-${method.kind}`,
    model,
    method,
    data: { source: { kind: 'inline', records }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 2 } },
    tokens: { chatml: true },
    args: { batchSize: 2, maxSteps: STEPS, learningRate: 1e-3, warmupSteps: 2, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: 5, weightDecay: 0.01 },
    backend,
    device: 'cpu',
    output: { merge: true },
  })

const cases = {
  full: { kind: 'full' },
  // the last layer's attention and MLP, and the embedding (the ChatML rows must learn)
  freeze: { kind: 'freeze', trainableLayers: 1, trainableModules: ['self_attn', 'mlp'], extraModules: ['embed_tokens'] },
} as const satisfies Record<string, MethodInputFor<'mistral'>>

describe.each(Object.entries(cases))('%s on tfjs and torch (cpu, float32)', (kind, method) => {
  let tfjs: Run
  let torch: Run

  it('per-step losses agree to 1e-4 relative for 10 steps', { timeout: 900_000 }, async () => {
    ;[tfjs, torch] = await Promise.all([runRecipe(recipe(method, 'tfjs'), createTfjsBackend({ device: 'cpu' })), runRecipe(recipe(method, 'torch'), createTorchBackend({ python }))])
    const [a, b] = [losses(tfjs), losses(torch)]
    expect([a.length, b.length]).toEqual([STEPS, STEPS])
    expect(maxRel(a, b), `tfjs ${a.join(', ')}\ntorch ${b.join(', ')}`).toBeLessThan(1e-4)
  })

  it('plan counts the trainable parameters torch trains, and tfjs trains as many', async () => {
    const r = recipe(method, 'torch')
    const graph = await compile(r, { baseDir: repoRoot, cacheDir: torch.cacheDir })
    const p = plan(graph, { cacheDir: torch.cacheDir })
    expect('params' in p.model).toBe(true)
    const counted = 'params' in p.model ? p.model.params.trainable : NaN
    expect(counted).toBe(logged(torch.events, /([\d,]+) trainable of/))
    expect(counted).toBe(logged(tfjs.events, /(\d+) trainable parameters/))
  })

  it("each backend's merged folder loads in transformers with tfjs's logits (1e-5)", { timeout: 300_000 }, async () => {
    const tokenizer = join(tfjs.artifact('train'), 'tokenizer')
    const folders = [tfjs.artifact('merge'), torch.artifact('merge'), ...(kind === 'full' ? [tfjs.artifact('train'), torch.artifact('train')] : [])]
    const fromTransformers = await torchLogits(folders.map((model) => ({ model })), TINY_IDS)
    for (const [i, folder] of folders.entries()) expect(relDiff(await tfjsLogits(folder, undefined, tokenizer, TINY_IDS), fromTransformers[i]!), folder).toBeLessThan(1e-5)
    // the two backends trained the same model
    expect(relDiff(fromTransformers[0]!, fromTransformers[1]!)).toBeLessThan(1e-4)
  })

  it('a tfjs checkpoint resumes on torch to the same losses', { timeout: 600_000 }, async () => {
    const ckpt = join(tfjs.work('train'), 'checkpoint-5')
    const resumed = await runRecipe(recipe(method, 'torch'), createTorchBackend({ python }), {
      until: 'train',
      beforeRun: async (work) => cpSync(ckpt, join(work('train'), 'checkpoint-5'), { recursive: true }),
    })
    expect(resumed.events.filter((e) => e.type === 'step').map((e) => e.step)).toEqual([6, 7, 8, 9, 10])
    expect(maxRel(losses(resumed), losses(tfjs))).toBeLessThan(1e-4)
  })

  it.runIf(kind === 'freeze')('freeze leaves every frozen tensor bit-identical to the base', async () => {
    const base = await openModelWeights(await resolveModelDir(tfjs.artifact('model')))
    const trained = new Set((await readSafetensors(join(tfjs.artifact('train'), 'trained_tensors.safetensors'))).tensors.keys())
    expect([...trained].sort()).toEqual([
      'model.embed_tokens.weight',
      ...['mlp.down_proj', 'mlp.gate_proj', 'mlp.up_proj', 'self_attn.k_proj', 'self_attn.o_proj', 'self_attn.q_proj', 'self_attn.v_proj'].map((m) => `model.layers.1.${m}.weight`),
    ])
    try {
      for (const run of [tfjs, torch]) {
        const merged = await openModelWeights(run.artifact('merge'))
        try {
          for (const name of base.names.filter((n) => !trained.has(n))) {
            const [b, m] = [await base.readFloat(name), await merged.readFloat(name)]
            // lm_head grew by the two ChatML rows (the mean row); the base's rows stay as they were
            expect(Buffer.from(m.data.buffer, m.data.byteOffset, b.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)), `${run === tfjs ? 'tfjs' : 'torch'} ${name}`).toBe(true)
          }
        } finally {
          await merged.close()
        }
      }
    } finally {
      await base.close()
    }
  })
})
