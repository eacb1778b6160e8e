// The torch worker in .venv-bnb (bitsandbytes 0.50.2 and galore-torch 1.0 over the worker stack), one worker
// process for the file. GaLore trained for real: the worker builds transformers' own galore_adamw optimizer,
// and its first step is GaLore's, not AdamW's. One
// optimizer step of tiny full fine-tuning (hidden 32, 2 layers), GaLore rank 4 with its projection from the
// step's gradient, against the same step with args.optimizer 'adamw_torch': GaLore's update of a projected
// weight is P·N (P [m, 4] the gradient's top singular vectors, N Adam's normalised step in that subspace),
// so ΔW has rank 4 where AdamW's sign-like first step is full rank; the tensors GaLore does not project
// (norms, embeddings) take the same AdamW step in both. The missing-package path (TK394) stays in
// test/torch/galore.test.ts, under the pinned worker stack, which has no galore-torch. LoftQ: with bitsandbytes
// but no CUDA, PEFT's loftq_init cannot run (compute_device "cuda"), and the worker says so (TK389, the fix).
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { isTunekitError } from '@tunekit/core'
import { readSafetensors, resolveModelDir, svd, type FloatTensor } from '@tunekit/hf'
import { createTorchBackend } from '@tunekit/torch'
import { tinyTokenizer } from '../data/helpers.ts'
import { bnbPython } from '../python.ts'
import { records, runRecipe, tinyRecipe, type Run } from '../torch/helpers.ts'

const recipe = (optimizer: 'galore_adamw' | 'adamw_torch') => tinyRecipe({
  name: `tiny-${optimizer}`,
  model: { id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32', random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } } },
  method: { kind: 'full' },
  lora: undefined,
  tokens: { chatml: false },
  data: { source: { kind: 'inline', records: records.slice(0, 4) }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, template: 'alpaca', maxLength: 48, split: { eval: 0 } },
  // one step at a constant rate, no weight decay (transformers' GaLore groups have none): ΔW is the optimizer's step alone.
  // GaLoreAdamW keeps its own eps 1e-6 (transformers passes only lr) and adds it to √v before the bias
  // correction, torch's AdamW after it: at step 1 (1 − β2 = 1e-3) the same step takes AdamW's eps = 1e-6 / √1e-3
  args: {
    batchSize: 4, maxSteps: 1, learningRate: 1e-3, lrScheduler: 'constant', logEvery: 1, seed: 3, saveEvery: 'never', optimizer,
    ...(optimizer === 'galore_adamw' ? { galore: { rank: 4, updateProjGap: 1 } } : { adamEpsilon: 1e-6 / Math.sqrt(1e-3) }),
  },
  output: { merge: false },
})

let galore: Run
let adamw: Run
let base: Map<string, FloatTensor>
const backend = createTorchBackend({ python: bnbPython() })
const trained = async (run: Run): Promise<Map<string, FloatTensor>> => (await readSafetensors(join(run.artifact('train'), 'model.safetensors'))).tensors as Map<string, FloatTensor>

beforeAll(async () => {
  galore = await runRecipe(recipe('galore_adamw'), backend, { until: 'train' })
  adamw = await runRecipe(recipe('adamw_torch'), backend, { until: 'train' })
  base = (await readSafetensors(join(await resolveModelDir(galore.artifact('model')), 'model.safetensors'))).tensors as Map<string, FloatTensor>
}, 600_000)

/** Singular values of `after − before` [rows, cols], descending. */
const updateSpectrum = (before: FloatTensor, after: FloatTensor): number[] => {
  const [rows, cols] = before.shape as [number, number]
  return [...svd(after.data.map((x, i) => x - before.data[i]!), rows, cols).s]
}

describe('GaLore on the torch backend (galore-torch in .venv-bnb)', () => {
  it("the worker builds transformers' galore_adamw: galore_torch's GaLoreAdamW over the projected linears", () => {
    const log = galore.events.flatMap((e) => (e.type === 'log' ? [e.message] : [])).join('\n')
    // galore_torch's GaLoreAdamW is its class `AdamW`; 'all-linear': every linear weight of the 2 layers, lm_head too
    // (q, o 32·32, k, v 16·32, gate, up, down 64·32 per layer, lm_head 320·32): 2·(2·1024 + 2·512 + 3·2048) + 10240
    expect(log).toMatch(/galore_torch\.AdamW \(transformers' optim='galore_adamw': rank 4, update_proj_gap 1, scale 0\.25, proj_type std; 28,672 values projected\)/)
    expect(galore.events.filter((e) => e.type === 'step')).toHaveLength(1)
  })

  it("a projected weight's first update has rank 4 (GaLore) where AdamW's is full rank; unprojected tensors take the same step", async () => {
    const [g, a] = [await trained(galore), await trained(adamw)]
    for (const name of ['model.layers.0.mlp.up_proj.weight', 'model.layers.1.self_attn.q_proj.weight']) {
      const sg = updateSpectrum(base.get(name)!, g.get(name)!)
      const sa = updateSpectrum(base.get(name)!, a.get(name)!)
      console.log(`${name}: GaLore ΔW σ5/σ1 ${(sg[4]! / sg[0]!).toExponential(2)}, AdamW ΔW σ5/σ1 ${(sa[4]! / sa[0]!).toExponential(2)}, rank(AdamW ΔW) ${sa.filter((s) => s > 1e-6 * sa[0]!).length}`)
      expect(sg[4]! / sg[0]!, name).toBeLessThan(1e-4)
      expect(sa[4]! / sa[0]!, name).toBeGreaterThan(0.1)
    }
    for (const name of ['model.norm.weight', 'model.layers.0.input_layernorm.weight', 'model.embed_tokens.weight']) {
      const before = base.get(name)!.data
      const [dg, da] = [g.get(name)!.data, a.get(name)!.data]
      let diff = 0
      let step = 0
      for (let i = 0; i < before.length; i++) {
        diff = Math.max(diff, Math.abs(dg[i]! - da[i]!))
        step = Math.max(step, Math.abs(da[i]! - before[i]!))
      }
      expect(step, `${name} moved`).toBeGreaterThan(1e-4)
      expect(diff, name).toBeLessThan(1e-6)
    }
  })
})

describe('LoftQ on the torch backend', () => {
  it("without CUDA the worker refuses it with the fix (TK389): PEFT's loftq_init quantises on cuda", { timeout: 300_000 }, async () => {
    const loftq = tinyRecipe({
      name: 'tiny-loftq-torch',
      model: { id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32', quantize: { bits: 4, type: 'nf4' }, random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } } },
      tokens: { chatml: false },
      data: { source: { kind: 'inline', records: records.slice(0, 4) }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, template: 'alpaca', maxLength: 48, split: { eval: 0 } },
      lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], initLoraWeights: 'loftq' },
      args: { batchSize: 4, maxSteps: 1, learningRate: 1e-3, logEvery: 1, seed: 3, saveEvery: 'never' },
      output: { merge: false },
    })
    const err = await runRecipe(loftq, backend, { until: 'train' }).then(() => undefined, (e: unknown) => e)
    expect(isTunekitError(err) ? err.message : err).toMatchInlineSnapshot(`
      "LoftQ on the torch backend needs bitsandbytes on CUDA
      ✖ TK389 lora.initLoraWeights 'loftq' on the torch backend runs PEFT's loftq_init, which quantises each adapted weight with bitsandbytes on a CUDA (or XPU) device (compute_device = "cuda" in peft/utils/loftq_utils.py), and this worker cannot (torch.cuda.is_available() is False) → at lora.initLoraWeights
        value: "loftq"
        fix: Run it where the worker's Python (TUNEKIT_PYTHON) has bitsandbytes (\`pip install bitsandbytes\`) and a CUDA GPU, or set backend: 'tfjs', whose LoftQ runs on the CPU and gives the same start (its NF4 and int8 are bitsandbytes' bit for bit)."
    `)
  })
})
