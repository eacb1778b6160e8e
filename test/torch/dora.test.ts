// DoRA (lora.useDora) on both backends, on a tiny random model (hidden 64, 2 layers, the 322-token
// test tokenizer), cpu, float32, dropout 0: per-step losses agree over 10 steps; each backend's
// adapter is in PEFT's layout (use_dora, lora_magnitude_vector) and loads in PEFT as-is with
// tunekit's logits; both merges (tfjs's merge node, PEFT's merge_and_unload) give the adapter's
// logits; plan's trainable count is PEFT's; adapters whose DoRA-ness is inconsistent are catalog
// errors. (A tfjs DoRA checkpoint resumed on torch gave the same losses, 9.5e-8, when tried; not
// kept here, for CI time.)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, formatIssue, plan } from '@tunekit/core'
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, inspectAdapter, magnitudeKey, openModelWeights, readModelConfig, readSafetensors, resolveModelDir, rowNorms, writeSafetensors } from '@tunekit/hf'
import { tinyTokenizer } from '../data/helpers.ts'
import { records, repoRoot, tempDir, type Run } from './helpers.ts'
import { losses, logged, adapterAndMergeFigures, TINY_IDS, trainOnBoth } from './logits.ts'

const STEPS = 10
const model = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
} as const
const lora = { rank: 4, alpha: 8, dropout: 0, targetModules: 'all-linear', trainableTokens: true, useDora: true } as const

const recipe = (backend: 'tfjs' | 'torch', over: { useDora?: boolean; init?: string } = {}) =>
  defineRecipe<'mistral'>({
    name: 'tiny-dora',
    model,
    data: { source: { kind: 'inline', records }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 0 } },
    tokens: { chatml: true },
    lora: { ...lora, ...over },
    // a high rate, so that ten steps move the magnitudes away from the base's row norms
    args: { batchSize: 2, maxSteps: STEPS, learningRate: 1e-2, warmupSteps: 2, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: STEPS },
    backend,
    device: 'cpu',
    // tfjs merges in its merge node; PEFT's merge_and_unload runs in the logits worker (one Python process less)
    output: { merge: backend === 'tfjs' },
  })


describe('DoRA on tfjs and torch (cpu, float32)', () => {
  let tfjs: Run
  let torch: Run

  it('per-step losses agree to 1e-4 relative for 10 steps', { timeout: 600_000 }, async () => {
    ;({ tfjs, torch } = await trainOnBoth(recipe, STEPS, 'DoRA'))
  })

  it("writes PEFT's layout: use_dora in adapter_config.json, a trained lora_magnitude_vector [out] per module", async () => {
    const base = await openModelWeights(await resolveModelDir(tfjs.artifact('model')))
    try {
      for (const run of [tfjs, torch]) {
        const json = JSON.parse(readFileSync(join(run.artifact('train'), ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>
        expect(json.use_dora).toBe(true)
        const { tensors } = await readSafetensors(join(run.artifact('train'), ADAPTER_WEIGHTS))
        expect([...tensors.keys()].filter((k) => k.endsWith('lora_magnitude_vector'))).toHaveLength(2 * 7)
        const m = tensors.get(magnitudeKey('down_proj', 1))!
        expect(m.shape).toEqual([64])
        // m started at ‖W‖ (B = 0) and trained away from it
        const start = rowNorms(await base.readFloat('model.layers.1.mlp.down_proj.weight'))
        expect(Math.max(...Array.from(m.data as Float32Array, (x, i) => Math.abs(x - start[i]!) / start[i]!))).toBeGreaterThan(1e-3)
      }
    } finally {
      await base.close()
    }
  })

  it("each backend's adapter loads in PEFT with tunekit's logits, and both merges give the adapter's logits (1e-5)", { timeout: 300_000 }, async () => {
    const { figures, backends } = await adapterAndMergeFigures(tfjs, torch, TINY_IDS)
    console.log(Object.entries(figures).map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'))
    for (const [what, diff] of Object.entries(figures)) expect(diff, what).toBeLessThan(1e-5)
    // the two backends trained the same model
    expect(backends).toBeLessThan(1e-4)
  })

  it("plan counts the magnitudes: PEFT's get_nb_trainable_parameters() (the torch worker logs it), and tfjs trains as many", async () => {
    const graph = await compile(recipe('torch'), { baseDir: repoRoot, cacheDir: torch.cacheDir })
    const p = plan(graph, { cacheDir: torch.cacheDir })
    const counted = 'params' in p.model ? p.model.params.trainable : NaN
    const peft = logged(torch.events, /([\d,]+) trainable of/)
    console.log(`trainable: plan ${counted}, PEFT ${peft}`)
    // 2 layers × 7 modules: r·(in + out) + out (the magnitude), and the two ChatML rows × 64
    expect(counted).toBe(9344)
    expect(counted).toBe(peft)
    expect(counted).toBe(logged(tfjs.events, /(\d+) trainable parameters/))
  })

  describe('catalog errors', () => {
    // a copy of the tfjs adapter with its config and / or tensors changed; paths shown as $DIR
    const variant = async (name: string, change: { config?: Record<string, unknown>; drop?: (key: string) => boolean }): Promise<{ dir: string; root: string }> => {
      const root = tempDir('dora')
      const dir = join(root, name)
      mkdirSync(dir)
      const json = JSON.parse(readFileSync(join(tfjs.artifact('train'), ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>
      writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify({ ...json, ...change.config }))
      const { tensors } = await readSafetensors(join(tfjs.artifact('train'), ADAPTER_WEIGHTS))
      await writeSafetensors(join(dir, ADAPTER_WEIGHTS), [...tensors].filter(([k]) => !change.drop?.(k)))
      return { dir, root }
    }
    const shown = (issues: ReturnType<typeof inspectAdapter>, root: string): string => issues.map(formatIssue).join('\n').replaceAll(root, '$DIR')
    const baseOf = async () => {
      const { family, config } = await readModelConfig(await resolveModelDir(tfjs.artifact('model')))
      return { family, config: { ...config, vocabSize: 322 } }
    }

    it('use_dora without magnitude vectors: TK243', async () => {
      const { dir, root } = await variant('no-magnitudes', { drop: (k) => k.endsWith('lora_magnitude_vector') && !k.includes('layers.1.mlp') })
      expect(shown(inspectAdapter(dir, await baseOf()), root)).toMatchInlineSnapshot(`
        "✖ TK243 $DIR/no-magnitudes/adapter_model.safetensors: adapter_config.json has use_dora true, but 11 adapted module(s) have no lora_magnitude_vector (first: base_model.model.model.layers.0.mlp.down_proj.lora_magnitude_vector); DoRA scales each module's output rows by that vector, so the adapter cannot be applied without it → at base_model.model.model.layers.0.mlp.down_proj.lora_magnitude_vector
          value: 11
          fix: Use the adapter folder as PEFT's save_pretrained (PEFT ≥ 0.9) or tunekit wrote it, with its magnitude vectors; if it was trained as plain LoRA, set use_dora to false in adapter_config.json (and lora.useDora: false in the recipe)."
      `)
    })

    it('magnitude vectors in an adapter without use_dora: TK244', async () => {
      const { dir, root } = await variant('not-dora', { config: { use_dora: false } })
      expect(shown(inspectAdapter(dir, await baseOf()), root)).toMatchInlineSnapshot(`
        "✖ TK244 $DIR/not-dora/adapter_model.safetensors: 14 lora_magnitude_vector tensor(s) (first: base_model.model.model.layers.0.mlp.down_proj.lora_magnitude_vector) but adapter_config.json does not set use_dora; applied as plain LoRA they would be ignored and the model would not be the one trained → at base_model.model.model.layers.0.mlp.down_proj.lora_magnitude_vector
          value: 14
          fix: Set "use_dora": true in adapter_config.json (and lora.useDora: true in a recipe that continues it), or use the adapter_config.json written with these weights."
      `)
    })

    it("a warm start whose use_dora is not the recipe's lora.useDora: TK242 at compile", async () => {
      const { root } = await variant('warm', {})
      const err = await compile(recipe('tfjs', { useDora: false, init: 'warm' }), { baseDir: root, cacheDir: tempDir('dora-cache') }).catch((e: unknown) => e)
      expect((err as Error).message).toMatchInlineSnapshot(`
        "The warm-start adapter does not match the recipe's LoRA options
        ✖ TK242 "warm" has use_dora true but the recipe's lora.useDora is false; a warm start continues that adapter, so its shape and scale must be the recipe's → at lora.useDora
          value: false
          fix: Set lora.useDora: true (the adapter's value), or start from another adapter."
      `)
    })
  })
})
