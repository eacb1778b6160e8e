// IA³ (method: { kind: 'ia3' }) on both backends, on a tiny random model (hidden 64, 2 layers, the
// 322-token test tokenizer), cpu, float32: per-step losses agree (torch through PEFT's own
// IA3Config); each backend's adapter is in PEFT's layout (peft_type IA3, ia3_l [out, 1] / [1, in])
// and loads in PEFT as-is with tunekit's logits; tfjs runs the torch adapter; both merges (tfjs's
// merge node, PEFT's merge_and_unload) give the adapter's logits; plan's trainable count is PEFT's.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, formatIssue, plan } from '@tunekit/core'
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, ia3Key, inspectAdapter, readModelConfig, readSafetensors, resolveModelDir } from '@tunekit/hf'
import { tinyTokenizer } from '../data/helpers.ts'
import { records, repoRoot, type Run } from './helpers.ts'
import { losses, logged, adapterAndMergeFigures, TINY_IDS, trainOnBoth } from './logits.ts'

const STEPS = 6
const model = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
} as const

const recipe = (backend: 'tfjs' | 'torch') =>
  defineRecipe<'mistral'>({
    name: 'tiny-ia3',
    model,
    data: { source: { kind: 'inline', records }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 0 } },
    tokens: { chatml: true },
    // q_proj beside PEFT's mistral defaults (k, v, down), and up_proj as a second feed-forward module
    method: { kind: 'ia3', targetModules: ['q_proj', 'k_proj', 'v_proj', 'up_proj', 'down_proj'], feedforwardModules: ['up_proj', 'down_proj'] },
    // a high rate, so that a few steps move the vectors well away from 1
    args: { batchSize: 2, maxSteps: STEPS, learningRate: 5e-2, warmupSteps: 1, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: 'never' },
    backend,
    device: 'cpu',
    // tfjs merges in its merge node; PEFT's merge_and_unload runs in the logits worker
    output: { merge: backend === 'tfjs' },
  })


describe('IA³ on tfjs and torch (cpu, float32)', () => {
  let tfjs: Run
  let torch: Run

  it(`per-step losses agree to 1e-4 relative for ${STEPS} steps`, { timeout: 600_000 }, async () => {
    const both = await trainOnBoth(recipe, STEPS, 'IA³')
    ;({ tfjs, torch } = both)
    const [a] = both.losses
    expect(a.at(-1)!).toBeLessThan(a[0]!)
  })

  it("writes PEFT's layout: peft_type IA3, ia3_l [out, 1] per module and [1, in] for the feed-forward ones, trained away from 1", async () => {
    for (const run of [tfjs, torch]) {
      const json = JSON.parse(readFileSync(join(run.artifact('train'), ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>
      expect(json).toMatchObject({ peft_type: 'IA3', task_type: 'CAUSAL_LM', target_modules: ['down_proj', 'k_proj', 'q_proj', 'up_proj', 'v_proj'], feedforward_modules: ['down_proj', 'up_proj'] })
      const { tensors } = await readSafetensors(join(run.artifact('train'), ADAPTER_WEIGHTS))
      expect(tensors.size).toBe(2 * 5)
      expect(tensors.get(ia3Key('k_proj', 1))!.shape).toEqual([32, 1])
      expect(tensors.get(ia3Key('down_proj', 0))!.shape).toEqual([1, 128])
      const q = tensors.get(ia3Key('q_proj', 0))!.data as Float32Array
      expect(Math.max(...Array.from(q, (x) => Math.abs(x - 1)))).toBeGreaterThan(1e-2)
    }
  })

  it("each backend's adapter loads in PEFT with the other's logits, and both merges give the adapter's logits (1e-5)", { timeout: 300_000 }, async () => {
    const { figures, backends } = await adapterAndMergeFigures(tfjs, torch, TINY_IDS)
    console.log(Object.entries(figures).map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'))
    for (const [what, diff] of Object.entries(figures)) expect(diff, what).toBeLessThan(1e-5)
    // the two backends trained the same model
    expect(backends).toBeLessThan(1e-4)
  })

  it("plan's trainable count is PEFT's get_nb_trainable_parameters() (the torch worker logs it), and tfjs trains as many", async () => {
    const graph = await compile(recipe('torch'), { baseDir: repoRoot, cacheDir: torch.cacheDir })
    const p = plan(graph, { cacheDir: torch.cacheDir })
    const counted = 'params' in p.model ? p.model.params.trainable : NaN
    console.log(`trainable: plan ${counted}, PEFT ${logged(torch.events, /([\d,]+) trainable of/)}`)
    // 2 layers × (q 64 + k 32 + v 32 outputs, up 64 + down 128 inputs)
    expect(counted).toBe(640)
    expect(counted).toBe(logged(torch.events, /([\d,]+) trainable of/))
    expect(counted).toBe(logged(tfjs.events, /(\d+) trainable parameters/))
  })

  it('an IA³ adapter applied to a model it does not fit is a catalog error before anything loads (TK348)', async () => {
    const dir = tfjs.artifact('train')
    const { family, config } = await readModelConfig(await resolveModelDir(tfjs.artifact('model')))
    const issues = inspectAdapter(dir, { family, config: { ...config, numHiddenLayers: 1, intermediateSize: 96 } })
    expect(issues.map(formatIssue).join('\n').replaceAll(dir, '$DIR').replace(/base_model_name_or_path: [^)]*/g, 'base_model_name_or_path: $BASE')).toMatchInlineSnapshot(`
      "✖ TK348 $DIR/adapter_model.safetensors: base_model.model.model.layers.0.mlp.down_proj.ia3_l is [1, 128], but down_proj of this model needs [1, 96] → at base_model.model.model.layers.0.mlp.down_proj.ia3_l
        fix: Apply the adapter to the model it was trained on (base_model_name_or_path: $BASE): \`tunekit chat <that model folder> --adapter <adapter>\`.
      ✖ TK348 $DIR/adapter_model.safetensors: layer 1, but the model has 1 layers → at base_model.model.model.layers.1.mlp.down_proj.ia3_l
        fix: Apply the adapter to the model it was trained on (base_model_name_or_path: $BASE): \`tunekit chat <that model folder> --adapter <adapter>\`.
      ✖ TK348 $DIR/adapter_model.safetensors: layer 1, but the model has 1 layers → at base_model.model.model.layers.1.mlp.up_proj.ia3_l
        fix: Apply the adapter to the model it was trained on (base_model_name_or_path: $BASE): \`tunekit chat <that model folder> --adapter <adapter>\`.
      ✖ TK348 $DIR/adapter_model.safetensors: layer 1, but the model has 1 layers → at base_model.model.model.layers.1.self_attn.k_proj.ia3_l
        fix: Apply the adapter to the model it was trained on (base_model_name_or_path: $BASE): \`tunekit chat <that model folder> --adapter <adapter>\`.
      ✖ TK348 $DIR/adapter_model.safetensors: layer 1, but the model has 1 layers → at base_model.model.model.layers.1.self_attn.q_proj.ia3_l
        fix: Apply the adapter to the model it was trained on (base_model_name_or_path: $BASE): \`tunekit chat <that model folder> --adapter <adapter>\`.
      ✖ TK348 $DIR/adapter_model.safetensors: layer 1, but the model has 1 layers → at base_model.model.model.layers.1.self_attn.v_proj.ia3_l
        fix: Apply the adapter to the model it was trained on (base_model_name_or_path: $BASE): \`tunekit chat <that model folder> --adapter <adapter>\`."
    `)
  })
})
