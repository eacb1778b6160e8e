// LoftQ's start values on tfjs against PEFT's loftq_init (test/bnb/loftq_reference.py: PEFT 0.21's function
// transcribed with compute_device 'cpu', bitsandbytes 0.50.2's CPU quantisers, in .venv-bnb): the NF4 and
// int8 codes and scales bit for bit, the dequantised base within 1e-5 and B·A within 1e-4 (SVD signs
// differ between the Jacobi SVD and LAPACK's, so A and B are compared through their product). Then a tfjs
// LoftQ run of the tiny model (NF4 base, 3 steps): its artifact's replaced base is loftq_init's on the
// model's own weights, PEFT loads the adapter as-is onto the base with that replaced base put in and
// gives tfjs's logits, and the merged folder gives the same in transformers (1e-5); plan counts LoRA's values,
// QLoRA's memory, and the artifact's bytes on disk. One Python process.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { compile, defineRecipe, plan, type RecipeInput } from '@tunekit/core'
import { ADAPTER_WEIGHTS, createRng, f16ToF32, f32ToF16, fillNormal, LOFTQ_BASE, readSafetensors, resolveModelDir, type FloatTensor } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { tinyTokenizer } from '../data/helpers.ts'
import { records, repoRoot, runRecipe, tempDir, tensorBytes, type Run } from '../torch/helpers.ts'
import { logged, relDiff, tfjsLogits } from '../torch/logits.ts'
import { quantize } from '../../packages/tfjs/src/quant/linear.ts'
import { loftqInit, type LoftqOptions } from '../../packages/tfjs/src/methods/loftq.ts'
import { bnbPython } from '../python.ts'

// The adapted weights of the tiny model (hidden 64, 4 heads, 2 kv heads, intermediate 128): q_proj, v_proj, down_proj
const weights: FloatTensor[] = ([[64, 64], [32, 64], [64, 128]] as const).map(([out, inF], i) => ({ shape: [out, inF], data: fillNormal(createRng(7, `w${i}`), new Float32Array(out * inF), 0, 0.05) }))
const cases: LoftqOptions[] = [{ bits: 4, rank: 4, iters: 1 }, { bits: 4, rank: 4, iters: 3 }, { bits: 8, rank: 2, iters: 2 }]

interface RefWeight { base: number[]; a: number[]; b: number[]; codes: number[]; scales: number[] }
interface RefModel { bases: Record<string, number[]>; peft: number[]; merged: number[] }
let reference: Array<{ weights: RefWeight[] }>
let refModel: RefModel
let run: Run
let baseDir: string

/** Ids inside the test tokenizer's 320 (alpaca adds no tokens). */
const IDS = [1, 57, 112, 9, 201, 33, 150, 77, 4]
const LOFTQ = { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], initLoraWeights: 'loftq', loftqConfig: { loftqBits: 4, loftqIter: 2 } } as const
const recipeWith = (lora: RecipeInput<'mistral'>['lora']) => defineRecipe<'mistral'>({
  name: 'tiny-loftq',
  model: {
    id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32', quantize: { bits: 4, type: 'nf4', doubleQuant: false },
    random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
  },
  data: { source: { kind: 'inline', records: records.slice(0, 6) }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, template: 'alpaca', maxLength: 48, split: { eval: 0 } },
  lora,
  args: { batchSize: 2, maxSteps: 3, learningRate: 1e-2, logEvery: 1, seed: 3, saveEvery: 'never' },
  backend: 'tfjs',
  device: 'cpu',
  output: { merge: true },
})
const recipe = recipeWith(LOFTQ)

beforeAll(async () => {
  run = await runRecipe(recipe, createTfjsBackend({ device: 'cpu' }), { until: 'merge' })
  baseDir = await resolveModelDir(run.artifact('model'))
  const request = {
    cases: cases.map((c) => ({ ...c, weights: weights.map((w) => ({ shape: w.shape, data: [...w.data] })) })),
    model: { dir: baseDir, adapter: run.artifact('train'), merged: run.artifact('merge'), bits: 4, iters: 2, ids: IDS },
  }
  const r = spawnSync(bnbPython(), [join(import.meta.dirname, 'loftq_reference.py')], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`loftq_reference.py exited ${r.status}:\n${r.stderr.slice(-3000)}`)
  const result = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('result '))!.slice(7)) as { cases: typeof reference; model: RefModel }
  reference = result.cases
  refModel = result.model
}, 300_000)

const maxDiff = (x: ArrayLike<number>, y: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!))
  return m
}
/** B·A [out, in] of B [out, r] and A [r, in]. */
const product = (b: ArrayLike<number>, a: ArrayLike<number>, out: number, r: number, inF: number): Float64Array => {
  const p = new Float64Array(out * inF)
  for (let o = 0; o < out; o++) for (let k = 0; k < r; k++) for (let i = 0; i < inF; i++) p[o * inF + i] = p[o * inF + i]! + b[o * r + k]! * a[k * inF + i]!
  return p
}

describe('LoftQ against PEFT and bitsandbytes', () => {
  it("tfjs's NF4 and int8 are bitsandbytes' bit for bit (codes and scales)", () => {
    for (const [c, bits] of [[0, 4], [2, 8]] as const) {
      weights.forEach((w, i) => {
        const ref = reference[c]!.weights[i]!
        // Int8Params quantises the float16 copy of the weight; bitsandbytes' absmax is of those values
        const q = bits === 4 ? quantize(w.data, w.shape as [number, number], { type: 'nf4', blockSize: 64 }) : quantize(f16ToF32(f32ToF16(w.data)), w.shape as [number, number], { type: 'int8' })
        expect([...q.codes]).toEqual(ref.codes)
        expect([...(q.scales as Float32Array)]).toEqual(ref.scales)
      })
    }
  })

  it.each(cases.map((c, i) => [i, c] as const))('case %i %o: the base within 1e-5, B·A within 1e-4', (c, o) => {
    let worst: [number, number] = [0, 0]
    weights.forEach((w, i) => {
      const [out, inF] = w.shape as [number, number]
      const ref = reference[c]!.weights[i]!
      const mine = loftqInit(w, o)
      const [base, ba] = [maxDiff(mine.base.data, ref.base), maxDiff(product(mine.b.data, mine.a.data, out, o.rank, inF), product(ref.b, ref.a, out, o.rank, inF))]
      worst = [Math.max(worst[0], base), Math.max(worst[1], ba)]
      expect(base).toBeLessThanOrEqual(1e-5)
      expect(ba).toBeLessThanOrEqual(1e-4)
    })
    console.log(`LoftQ ${JSON.stringify(o)} vs PEFT's loftq_init: base max |Δ| ${worst[0].toExponential(2)}, B·A max |Δ| ${worst[1].toExponential(2)}`)
  })

  it("a tfjs LoftQ run: the artifact's replaced base is loftq_init's (1e-5), and PEFT loads the adapter as-is onto it with tfjs's logits (1e-5)", async () => {
    const { tensors } = await readSafetensors(join(run.artifact('train'), LOFTQ_BASE))
    // the adapted weights only: q_proj and v_proj of both layers
    expect([...tensors.keys()].sort()).toEqual(Object.keys(refModel.bases).sort())
    expect(tensors.size).toBe(4)
    for (const [name, t] of tensors) expect(maxDiff(t.data as Float32Array, refModel.bases[name]!), name).toBeLessThanOrEqual(1e-5)
    const config = JSON.parse(readFileSync(join(run.artifact('train'), 'adapter_config.json'), 'utf8')) as Record<string, unknown>
    expect(config.init_lora_weights).toBe(true) // PEFT must not run loftq_init again on load
    const tokenizer = join(run.artifact('train'), 'tokenizer')
    const mine = await tfjsLogits(baseDir, run.artifact('train'), tokenizer, IDS)
    const figures = {
      'tfjs adapter: tfjs vs PEFT (replaced base put in)': relDiff(mine, Float32Array.from(refModel.peft)),
      'tfjs merge (transformers) vs its adapter (PEFT)': relDiff(Float32Array.from(refModel.merged), Float32Array.from(refModel.peft)),
      'tfjs merge (tfjs) vs its adapter (tfjs)': relDiff(await tfjsLogits(run.artifact('merge'), undefined, tokenizer, IDS), mine),
    }
    console.log(Object.entries(figures).map(([k, v]) => `LoftQ ${k}: ${v.toExponential(2)}`).join('\n'))
    for (const [what, diff] of Object.entries(figures)) expect(diff, what).toBeLessThan(1e-5)
  })

  it("plan counts LoRA's trainable values and QLoRA's memory, and its disk estimate is the artifact's bytes (adapter + replaced base)", async () => {
    const fresh = tempDir('loftq-plan')
    const planOf = async (lora: RecipeInput<'mistral'>['lora']) => plan(await compile(recipeWith(lora), { baseDir: repoRoot, cacheDir: fresh }), { cacheDir: fresh })
    const { loftqConfig: _loftq, ...qloraOptions } = LOFTQ
    const [loftq, qlora] = [await planOf(LOFTQ), await planOf({ ...qloraOptions, initLoraWeights: true })]
    const trainable = 'params' in loftq.model ? loftq.model.params.trainable : NaN
    // 2 layers × (q_proj 4·(64 + 64) + v_proj 4·(64 + 32))
    expect(trainable).toBe(1792)
    expect(trainable).toBe(logged(run.events, /(\d+) trainable parameters/))
    expect(loftq.memory).toEqual(qlora.memory)
    const files = [ADAPTER_WEIGHTS, LOFTQ_BASE].map((f) => tensorBytes(join(run.artifact('train'), f)))
    // the adapter's 1792 values and the four replaced weights 2 · (64·64 + 32·64), float32
    expect(files).toEqual([1792 * 4, 12288 * 4])
    expect(loftq.disk!.parts.find((d) => d.name === 'adapter')!.bytes).toBe(files[0]! + files[1]!)
  })

  it('a warm start from the LoftQ artifact is refused (TK380): its adapter fits the replaced base, not the model', async () => {
    const dir = run.artifact('train')
    const { loftqConfig: _loftq, ...plain } = LOFTQ
    const err = await compile(recipeWith({ ...plain, initLoraWeights: true, init: dir }), { baseDir: repoRoot, cacheDir: tempDir('loftq-warm') }).catch((e: unknown) => e)
    expect((err as Error).message.replaceAll(dir, '$DIR')).toMatchInlineSnapshot(`
      "A warm-start adapter trained against a LoftQ base
      ✖ TK380 "$DIR" holds loftq_base.safetensors: it is a LoftQ adapter, trained against the replaced base it keeps there (each adapted weight quantised with its residual), not against the model's own weights, so continuing it on those weights would start from another model → at lora.init
        value: "$DIR"
        fix: Merge it first (\`tunekit merge\`, which folds it into the replaced base) and train a new adapter on the merged model, or start a new LoftQ run (lora.initLoraWeights: 'loftq') on the original model."
    `)
  })
})
