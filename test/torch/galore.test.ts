// GaLore on the backends: the torch worker builds transformers' own GaLore optimizer when
// galore_torch is importable, and fails with GaloreUnavailable (TK394, the fix) when it is not (the
// pinned stack has no galore-torch); the tfjs train node refuses it (TK395) when `backend: 'auto'`
// lands there. Tiny full fine-tuning, two steps.
import { describe, expect, it } from 'vitest'
import { isTunekitError } from '@tunekit/core'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { tinyTokenizer } from '../data/helpers.ts'
import { python, pythonJson, records, runRecipe, tinyRecipe } from './helpers.ts'

const recipe = (backend: 'auto' | 'torch') => tinyRecipe({
  name: 'tiny-galore',
  model: { id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32', random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } } },
  method: { kind: 'full' },
  lora: undefined,
  data: { source: { kind: 'inline', records: records.slice(0, 6) }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 48, split: { eval: 0 } },
  args: { batchSize: 2, maxSteps: 2, learningRate: 1e-3, logEvery: 1, seed: 3, optimizer: 'galore_adamw', galore: { rank: 4, updateProjGap: 1 } },
  output: { merge: false },
  backend,
})

const failure = async (run: Promise<unknown>): Promise<string> => {
  try {
    await run
  } catch (e) {
    if (isTunekitError(e)) return e.message
    throw e
  }
  return 'no error'
}

describe('GaLore', () => {
  it("torch: transformers' GaLore optimizer, or TK394 with the fix when galore_torch is missing", { timeout: 300_000 }, async () => {
    const available = pythonJson('import json; from transformers.utils import is_galore_torch_available as a; print(json.dumps(a()))') as boolean
    if (!available) {
      expect(await failure(runRecipe(recipe('torch'), createTorchBackend({ python }), { until: 'train' }))).toMatchInlineSnapshot(`
        "GaLore needs the galore-torch package
        ✖ TK394 args.optimizer 'galore_adamw' runs transformers' GaLore optimizer, which imports galore_torch, and the torch worker's Python cannot import it (import galore_torch failed) → at args.optimizer
          value: "galore_adamw"
          fix: Install it into the worker's Python (TUNEKIT_PYTHON): \`pip install galore-torch\`; or use args.optimizer 'adamw_torch'."
      `)
      return
    }
    const run = await runRecipe(recipe('torch'), createTorchBackend({ python }), { until: 'train' })
    const log = run.events.flatMap((e) => (e.type === 'log' ? [e.message] : [])).join('\n')
    expect(log).toMatch(/galore_torch\.AdamW \(transformers' optim='galore_adamw': rank 4, update_proj_gap 1/)
    expect(run.events.filter((e) => e.type === 'step')).toHaveLength(2)
  })

  it("tfjs: the train node refuses it (TK395) when backend 'auto' lands there", { timeout: 120_000 }, async () => {
    expect(await failure(runRecipe(recipe('auto'), createTfjsBackend({ device: 'cpu' }), { until: 'train' }))).toMatchInlineSnapshot(`
      "GaLore runs on the torch backend only
      ✖ TK395 args.optimizer 'galore_adamw' projects gradients with galore-torch's optimizer in the torch worker; the tfjs backend has no GaLore optimizer → at args.optimizer
        value: "galore_adamw"
        fix: Set backend: 'torch' (with \`pip install galore-torch\` in its Python), or use args.optimizer 'adamw_torch'."
    `)
  })
})
