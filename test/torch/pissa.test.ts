// PiSSA (lora.initLoraWeights: 'pissa') on both backends, on a tiny random model (hidden 64, 2
// layers, the 322-token test tokenizer), cpu, float32, dropout 0. tfjs starts from its own SVD
// (@tunekit/hf's svd.ts), torch from PEFT's pissa_init (torch.linalg.svd): singular vectors may
// differ in sign, which neither the residual, the losses (Adam is sign-equivariant) nor the
// converted adapter sees. Per-step losses agree over 10 steps; each backend's adapter is written
// converted (a rank-2r LoRA of the unmodified base, PEFT's path_initial_model_for_weight_conversion)
// and loads in PEFT as-is with tunekit's logits; both merges give the adapter's logits; the
// converted adapter is the trained PiSSA model (PEFT's own load of the rank-r adapter, pissa_init re-run);
// plan's trainable count is PEFT's (a rank-r LoRA's).
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, plan, type RecipeInput } from '@tunekit/core'
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, loraKey, readSafetensors, resolveModelDir, writeSafetensors, type FloatTensor } from '@tunekit/hf'
import { tinyTokenizer } from '../data/helpers.ts'
import { records, repoRoot, tempDir, type Run } from './helpers.ts'
import { losses, logged, adapterAndMergeFigures, relDiff, TINY_IDS, trainOnBoth } from './logits.ts'

const STEPS = 10
const model = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
} as const

const pissa = { rank: 4, alpha: 8, dropout: 0, targetModules: 'all-linear', trainableTokens: true, initLoraWeights: 'pissa' } as const
const recipe = (backend: 'tfjs' | 'torch', lora: RecipeInput<'mistral'>['lora'] = pissa) =>
  defineRecipe<'mistral'>({
    name: 'tiny-pissa',
    model,
    data: { source: { kind: 'inline', records }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 0 } },
    tokens: { chatml: true },
    lora,
    args: { batchSize: 2, maxSteps: STEPS, learningRate: 2e-3, warmupSteps: 2, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: STEPS },
    backend,
    device: 'cpu',
    // tfjs merges in its merge node; PEFT's merge_and_unload runs in the logits worker
    output: { merge: backend === 'tfjs' },
  })

describe('PiSSA on tfjs and torch (cpu, float32)', () => {
  let tfjs: Run
  let torch: Run

  it('per-step losses agree to 1e-4 relative for 10 steps', { timeout: 600_000 }, async () => {
    ;({ tfjs, torch } = await trainOnBoth(recipe, STEPS, 'PiSSA'))
  })

  it('writes a plain LoRA of the original base: rank 2r, alpha 2α, init_lora_weights true, A = [A ; A0]', async () => {
    for (const run of [tfjs, torch]) {
      const json = JSON.parse(readFileSync(join(run.artifact('train'), ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>
      expect([json.r, json.lora_alpha, json.init_lora_weights]).toEqual([8, 16, true])
      const { tensors } = await readSafetensors(join(run.artifact('train'), ADAPTER_WEIGHTS))
      expect(tensors.get(loraKey('down_proj', 1, 'lora_A'))!.shape).toEqual([8, 128])
      expect(tensors.get(loraKey('down_proj', 1, 'lora_B'))!.shape).toEqual([64, 8])
    }
  })

  // the unconverted adapter back from a converted one: A = A'[:r], B = B'[:, :r], init_lora_weights 'pissa'
  const unconverted = async (run: Run): Promise<string> => {
    const dir = join(tempDir('pissa'), 'unconverted')
    mkdirSync(dir)
    cpSync(join(run.artifact('train'), 'tokenizer'), join(dir, 'tokenizer'), { recursive: true }) // the vocabulary the embeddings grow to
    const json = JSON.parse(readFileSync(join(run.artifact('train'), ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>
    writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify({ ...json, r: 4, lora_alpha: 8, init_lora_weights: 'pissa' }))
    const { tensors } = await readSafetensors(join(run.artifact('train'), ADAPTER_WEIGHTS))
    const rankR = [...tensors].map(([k, t]): [string, FloatTensor] => {
      const [rows, cols] = t.shape as [number, number]
      const data = t.data as Float32Array
      if (k.endsWith('lora_A.weight')) return [k, { shape: [rows / 2, cols], data: data.slice(0, (rows / 2) * cols) }]
      if (k.endsWith('lora_B.weight')) return [k, { shape: [rows, cols / 2], data: Float32Array.from({ length: rows * (cols / 2) }, (_, i) => data[Math.floor(i / (cols / 2)) * cols + (i % (cols / 2))]!) }]
      return [k, t as FloatTensor]
    })
    await writeSafetensors(join(dir, ADAPTER_WEIGHTS), rankR)
    return dir
  }

  it("each backend's adapter loads in PEFT with tunekit's logits, both merges give the adapter's logits, and the conversion is PEFT's (1e-5)", { timeout: 300_000 }, async () => {
    // PEFT loads a rank-r adapter whose config says 'pissa' by re-running pissa_init on the original
    // base: the trained PiSSA model itself, which each converted adapter must reproduce
    const base = await resolveModelDir(torch.artifact('model'))
    const runs = { tfjs, torch }
    const pairs = await Promise.all(Object.values(runs).map(async (run) => [{ model: base, adapter: await unconverted(run) }, { model: base, adapter: run.artifact('train') }]))
    const { figures, backends, extra } = await adapterAndMergeFigures(tfjs, torch, TINY_IDS, pairs.flat())
    Object.keys(runs).forEach((name, i) => {
      figures[`${name}: PiSSA on the residual base vs its converted adapter (PEFT)`] = relDiff(extra[2 * i + 1]!, extra[2 * i]!)
    })
    console.log(Object.entries(figures).map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'))
    for (const [what, diff] of Object.entries(figures)) expect(diff, what).toBeLessThan(1e-5)
    console.log(`PiSSA adapters, tfjs vs torch in PEFT: ${backends.toExponential(2)}`)
    expect(backends).toBeLessThan(1e-4)
  })

  it('a warm start continues the converted adapter as plain LoRA, and refuses an unconverted one: TK390', async () => {
    const converted = tfjs.artifact('train')
    const warm = (init: string, rank: number, alpha: number) => compile(recipe('tfjs', { ...pissa, rank, alpha, initLoraWeights: true, init }), { baseDir: repoRoot, cacheDir: tempDir('pissa-cache') })
    await expect(warm(converted, 8, 16)).resolves.toBeDefined()
    const dir = await unconverted(tfjs)
    const err = await warm(dir, 4, 8).catch((e: unknown) => e)
    expect((err as Error).message.replaceAll(dir, '$DIR')).toMatchInlineSnapshot(`
      "A warm-start adapter trained against a residual base
      ✖ TK390 "$DIR" has init_lora_weights "pissa": its A and B were trained against the base PEFT rewrote at the start (W minus the adapter's start), not against the model's own weights, so continuing it on those weights would start from another model → at lora.init
        value: "$DIR"
        fix: Convert it in PEFT first: save it with peft_model.save_pretrained(out, path_initial_model_for_weight_conversion=<the adapter saved before training>), which writes a plain LoRA of the original base; adapters tunekit writes for PiSSA are converted already."
    `)
  })

  it("plan counts a rank-r LoRA: PEFT's get_nb_trainable_parameters() (the torch worker logs it), and tfjs trains as many", async () => {
    const graph = await compile(recipe('torch'), { baseDir: repoRoot, cacheDir: torch.cacheDir })
    const p = plan(graph, { cacheDir: torch.cacheDir })
    const counted = 'params' in p.model ? p.model.params.trainable : NaN
    const peft = logged(torch.events, /([\d,]+) trainable of/)
    console.log(`trainable: plan ${counted}, PEFT ${peft}`)
    // 2 layers × 7 modules × r·(in + out), and the two ChatML rows × 64
    expect(counted).toBe(8320)
    expect(counted).toBe(peft)
    expect(counted).toBe(logged(tfjs.events, /(\d+) trainable parameters/))
  })
})
