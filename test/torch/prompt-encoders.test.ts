// P-tuning (method: { kind: 'p-tuning' }, MLP and LSTM encoders) and prefix tuning
// ({ kind: 'prefix-tuning' }, with and without the projection) on both backends, on a tiny random
// model (hidden 32, 2 layers, grouped-query attention 4 / 2 heads, the 322-token test tokenizer),
// cpu, float32. Per variant: per-step losses agree over 10 steps (torch through PEFT's own
// PromptEncoderConfig / PrefixTuningConfig, both starting from @tunekit/hf's encoder draw); each
// backend's adapter is PEFT's layout and loads in PEFT as-is with tfjs's logits; plan's trainable
// count is PEFT's get_nb_trainable_parameters() and its disk estimate the artifact's bytes; no merge node, and generate gives the same greedy
// samples on both backends. One worker process serves the whole file.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { compile, defineRecipe, plan, type MethodInputFor } from '@tunekit/core'
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, PROMPT_EMBEDDINGS, readSafetensors, resolveModelDir } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { tinyTokenizer } from '../data/helpers.ts'
import { python, records, repoRoot, runRecipe, tempDir, tensorBytes, type Run } from './helpers.ts'
import { logged, losses, maxRel, relDiff, tfjsLogits, TINY_IDS, torchLogits } from './logits.ts'

const STEPS = 10
const N = 4
const H = 32
const model = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: H, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
} as const
// prefix width: layers · 2 · kvDim, kvDim = headDim · kv heads = 8 · 2
const PREFIX = 2 * 2 * 16

const variants = {
  'p-tuning MLP': { method: { kind: 'p-tuning', numVirtualTokens: N }, width: H, config: { peft_type: 'P_TUNING', encoder_reparameterization_type: 'MLP', encoder_hidden_size: H, token_dim: H } },
  'p-tuning LSTM': { method: { kind: 'p-tuning', numVirtualTokens: N, encoderReparameterizationType: 'LSTM', encoderHiddenSize: 16 }, width: H, config: { peft_type: 'P_TUNING', encoder_reparameterization_type: 'LSTM', encoder_hidden_size: 16, encoder_num_layers: 2 } },
  'prefix tuning': { method: { kind: 'prefix-tuning', numVirtualTokens: N }, width: PREFIX, config: { peft_type: 'PREFIX_TUNING', prefix_projection: false, token_dim: 16, num_attention_heads: 2 } },
  'prefix tuning with projection': { method: { kind: 'prefix-tuning', numVirtualTokens: N, prefixProjection: true, encoderHiddenSize: 24 }, width: PREFIX, config: { peft_type: 'PREFIX_TUNING', prefix_projection: true, encoder_hidden_size: 24, token_dim: 16 } },
} satisfies Record<string, { method: MethodInputFor<'mistral'>; width: number; config: Record<string, unknown> }>

const recipe = (backend: 'tfjs' | 'torch', method: MethodInputFor<'mistral'>) =>
  defineRecipe<'mistral'>({
    name: 'tiny-prompt-encoder',
    model,
    data: { source: { kind: 'inline', records }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 0 } },
    tokens: { chatml: true },
    method,
    args: { batchSize: 2, maxSteps: STEPS, learningRate: 5e-2, warmupSteps: 1, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: 'never' },
    backend,
    device: 'cpu',
    output: { samples: ['What is 1 plus 3?'], maxNewTokens: 3 },
  })

const samples = (run: Run): unknown[] => readFileSync(join(run.artifact('generate'), 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown)

type Name = keyof typeof variants
const names = Object.keys(variants) as Name[]
const runs = {} as Record<Name, { tfjs: Run; torch: Run }>
// PEFT's logits of every adapter, from one `logits` worker process: [tfjs adapter, torch adapter] per variant
const inPeft = {} as Record<Name, [Float32Array, Float32Array]>

beforeAll(async () => {
  for (const name of names) {
    const m = variants[name].method
    const [tfjs, torch] = await Promise.all([runRecipe(recipe('tfjs', m), createTfjsBackend({ device: 'cpu' })), runRecipe(recipe('torch', m), createTorchBackend({ python }))])
    runs[name] = { tfjs, torch }
  }
  const base = await resolveModelDir(runs[names[0]!].tfjs.artifact('model'))
  const logits = await torchLogits(names.flatMap((n) => [{ model: base, adapter: runs[n].tfjs.artifact('train') }, { model: base, adapter: runs[n].torch.artifact('train') }]), TINY_IDS)
  names.forEach((n, i) => (inPeft[n] = [logits[2 * i]!, logits[2 * i + 1]!]))
}, 900_000)

describe.each(names)('%s on tfjs and torch (cpu, float32)', (name) => {
  const v = variants[name]
  const tfjsRun = (): Run => runs[name].tfjs
  const torchRun = (): Run => runs[name].torch

  it(`per-step losses agree to 1e-4 relative for ${STEPS} steps, and fall`, () => {
    const [a, b] = [losses(tfjsRun()), losses(torchRun())]
    expect([a.length, b.length]).toEqual([STEPS, STEPS])
    const rel = maxRel(a, b)
    console.log(`${name} losses, max relative difference tfjs vs torch over ${STEPS} steps: ${rel.toExponential(2)}`)
    expect(rel, `tfjs ${a.join(', ')}\ntorch ${b.join(', ')}`).toBeLessThan(1e-4)
    expect(a.at(-1)!, `tfjs ${a.join(', ')}`).toBeLessThan(a[0]!)
  })

  it("writes PEFT's layout: the encoder's output as prompt_embeddings, inference_mode", async () => {
    for (const run of [tfjsRun(), torchRun()]) {
      const json = JSON.parse(readFileSync(join(run.artifact('train'), ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>
      expect(json).toMatchObject({ ...v.config, task_type: 'CAUSAL_LM', num_virtual_tokens: N, num_layers: 2, inference_mode: true })
      const { tensors } = await readSafetensors(join(run.artifact('train'), ADAPTER_WEIGHTS))
      expect([...tensors.keys()]).toEqual([PROMPT_EMBEDDINGS])
      expect(tensors.get(PROMPT_EMBEDDINGS)!.shape).toEqual([N, v.width])
    }
  })

  it("each backend's adapter loads in PEFT with tfjs's logits (1e-5)", async () => {
    const [tfjs, torch] = [tfjsRun(), torchRun()]
    const base = await resolveModelDir(tfjs.artifact('model'))
    const tokenizer = join(tfjs.artifact('train'), 'tokenizer')
    const [tfjsInPeft, torchInPeft] = inPeft[name]
    const figures = {
      'tfjs adapter: tfjs vs PEFT': relDiff(await tfjsLogits(base, tfjs.artifact('train'), tokenizer, TINY_IDS), tfjsInPeft),
      'torch adapter: tfjs vs PEFT': relDiff(await tfjsLogits(base, torch.artifact('train'), tokenizer, TINY_IDS), torchInPeft),
    }
    console.log(`${name}: ${Object.entries(figures).map(([k, d]) => `${k}: ${d.toExponential(2)}`).join('; ')}; the two adapters in PEFT: ${relDiff(tfjsInPeft, torchInPeft).toExponential(2)}`)
    for (const [what, diff] of Object.entries(figures)) expect(diff, what).toBeLessThan(1e-5)
    expect(relDiff(tfjsInPeft, torchInPeft)).toBeLessThan(1e-4)
    expect(relDiff(tfjsInPeft, await tfjsLogits(base, undefined, tokenizer, TINY_IDS)), 'the adapter changes the logits').toBeGreaterThan(1e-3)
  })

  it("plan's trainable count is PEFT's get_nb_trainable_parameters(), and tfjs trains as many", async () => {
    const torch = torchRun()
    const graph = await compile(recipe('torch', v.method), { baseDir: repoRoot, cacheDir: torch.cacheDir })
    const p = plan(graph, { cacheDir: torch.cacheDir })
    const counted = 'params' in p.model ? p.model.params.trainable : NaN
    expect(counted).toBe(logged(torch.events, /([\d,]+) trainable of/))
    expect(counted).toBe(logged(tfjsRun().events, /(\d+) trainable parameters/))
    // plan's disk for the adapter (an empty cache: train still to run) is the artifact's tensor bytes, the
    // encoder's output, not the trained encoder (P-tuning and the projection train more than they save)
    const fresh = tempDir('plan')
    const disk = plan(await compile(recipe('torch', v.method), { baseDir: repoRoot, cacheDir: fresh }), { cacheDir: fresh }).disk!
    for (const run of [tfjsRun(), torch]) expect(disk.parts.find((d) => d.name === 'adapter')!.bytes).toBe(tensorBytes(join(run.artifact('train'), ADAPTER_WEIGHTS)))
    expect(disk.parts.find((d) => d.name === 'adapter')!.bytes).toBe(N * v.width * 4)
  })

  it('has no merge node; generate runs the adapter with the same greedy samples on both backends', () => {
    const [tfjs, torch] = [tfjsRun(), torchRun()]
    for (const run of [tfjs, torch]) expect(run.result.nodes.map((n) => n.id)).not.toContain('merge')
    console.log(`${name} samples: tfjs ${JSON.stringify(samples(tfjs))}, torch ${JSON.stringify(samples(torch))}`)
    expect(samples(tfjs)).toEqual(samples(torch))
  })
})

