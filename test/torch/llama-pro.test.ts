// LLaMA Pro on both backends, on a tiny random model (hidden 64, 2 layers + 2 added blocks, the
// 322-token test tokenizer), cpu, float32: the expanded model computes the base's function
// (transformers on the expanded folder), per-step losses agree over 10 steps, the train artifact is a
// transformers folder with 4 layers whose logits in transformers are tfjs's, and `plan` counts what
// LLaMA-Factory's freeze of the new blocks trains in torch.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, plan, resolveModelDir } from '@tunekit/core'
import { expandTensors, openModelWeights, readModelConfig, writeTrainArtifact, type FloatTensor } from '@tunekit/hf'
import { tinyTokenizer } from '../data/helpers.ts'
import { records, repoRoot, type Run } from './helpers.ts'
import { logged, losses, relDiff, tfjsLogits, torchLogits, TINY_IDS, trainOnBoth } from './logits.ts'

const STEPS = 10
const recipe = (backend: 'tfjs' | 'torch') =>
  defineRecipe({
    name: 'tiny-llama-pro',
    model: {
      id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
      random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
    },
    method: { kind: 'llama-pro', numExpandedBlocks: 2 },
    data: { source: { kind: 'inline', records }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 2 } },
    tokens: { chatml: true },
    args: { batchSize: 2, maxSteps: STEPS, learningRate: 1e-3, warmupSteps: 2, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: 5, weightDecay: 0.01 },
    backend,
    device: 'cpu',
  })

describe('LLaMA Pro on tfjs and torch (cpu, float32)', () => {
  let tfjs: Run
  let torch: Run

  it('per-step losses agree to 1e-4 relative for 10 steps', { timeout: 900_000 }, async () => {
    ;({ tfjs, torch } = await trainOnBoth(recipe, STEPS))
  })

  it("plan counts the added blocks, as LLaMA-Factory's freeze of them trains in torch, and tfjs trains as many", async () => {
    const graph = await compile(recipe('torch'), { baseDir: repoRoot, cacheDir: torch.cacheDir })
    const p = plan(graph, { cacheDir: torch.cacheDir })
    const counted = 'params' in p.model ? p.model.params.trainable : NaN
    // two blocks of 4·64·64 (q, o) + 2·64·32 (k, v) + 3·64·128 (mlp) + 2·64 (norms)
    expect(counted).toBe(2 * (2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128 + 2 * 64))
    expect(counted).toBe(logged(torch.events, /([\d,]+) trainable of/))
    expect(counted).toBe(logged(tfjs.events, /(\d+) trainable parameters/))
    expect(graph.nodes.map((n) => n.kind)).not.toContain('merge')
  })

  it("the expanded model before training gives the base's logits; each train artifact is a transformers folder with 4 layers and tfjs's logits", { timeout: 300_000 }, async () => {
    const baseDir = await resolveModelDir(tfjs.artifact('model'))
    const { family, config } = await readModelConfig(baseDir)
    const weights = await openModelWeights(baseDir)
    const base = new Map<string, FloatTensor>()
    try {
      for (const name of weights.names) base.set(name, await weights.readFloat(name))
    } finally {
      await weights.close()
    }
    const expanded = mkdtempSync(join(tmpdir(), 'tunekit-llama-pro-'))
    const method = { kind: 'llama-pro' as const, numExpandedBlocks: 2, config: { ...config, numHiddenLayers: 4 } }
    await writeTrainArtifact(expanded, { method, tensors: expandTensors(base, config.numHiddenLayers, 2), family, baseModel: null })
    const trained = [tfjs.artifact('train'), torch.artifact('train')]
    for (const f of trained) expect((JSON.parse(readFileSync(join(f, 'config.json'), 'utf8')) as { num_hidden_layers: number }).num_hidden_layers).toBe(4)
    // one worker: the base and the expanded folder on the base's own 320 ids, the trained folders with the ChatML ids
    const ids = TINY_IDS.filter((id) => id < 320)
    const [fromBase, fromExpanded, ...fromTrained] = await torchLogits([{ model: baseDir, ids }, { model: expanded, ids }, ...trained.map((model) => ({ model }))], TINY_IDS)
    expect(relDiff(fromExpanded!, fromBase!)).toBeLessThan(1e-6)
    const tokenizer = join(tfjs.artifact('train'), 'tokenizer')
    expect(relDiff(await tfjsLogits(expanded, undefined, tokenizer, TINY_IDS), await tfjsLogits(baseDir, undefined, tokenizer, TINY_IDS))).toBeLessThan(1e-6)
    for (const [i, folder] of trained.entries()) {
      expect(relDiff(await tfjsLogits(folder, undefined, tokenizer, TINY_IDS), fromTrained[i]!), folder).toBeLessThan(1e-5)
      // the base with the artifact applied (generate, score, eval): expanded in place, the same logits
      expect(relDiff(await tfjsLogits(baseDir, folder, tokenizer, TINY_IDS), fromTrained[i]!), `${folder} on the base`).toBeLessThan(1e-5)
    }
    expect(relDiff(fromTrained[0]!, fromTrained[1]!)).toBeLessThan(1e-4)
  })
})
