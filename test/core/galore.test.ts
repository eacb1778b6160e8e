// GaLore's recipe checks: the torch backend only, a method that trains the base's own weights, and
// args.galore only with args.optimizer 'galore_adamw'; the train node holds GaLore's settings filled in.
import { compile, defineRecipe, hub } from '@tunekit/core'
import { describe, expect, it } from 'vitest'
import { recipeError } from './helpers.ts'

const base = {
  model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
  data: { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' },
} as const

describe('GaLore', () => {
  it('refuses tfjs, adapter methods, and a galore group without the optimizer', () => {
    expect(recipeError({ ...base, backend: 'tfjs', args: { optimizer: 'galore_adamw' } }).message).toMatchInlineSnapshot(`
      "Recipe has 2 problems
      ✖ TK395 args.optimizer 'galore_adamw' projects gradients with galore-torch's optimizer in the torch worker; the tfjs backend has no GaLore optimizer → at args.optimizer
        value: "galore_adamw"
        fix: Set backend: 'torch' (with \`pip install galore-torch\` in its Python), or use args.optimizer 'adamw_torch'.
      ✖ TK396 args.optimizer 'galore_adamw' projects the gradients of trained 2-D base weights, but method 'lora' trains adapter tensors beside frozen weights (already small: nothing for GaLore to save) → at args.optimizer
        value: "galore_adamw"
        fix: Use method: { kind: 'full' } (or 'freeze', 'llama-pro') with GaLore, or keep the adapter with args.optimizer 'adamw_torch'."
    `)
    expect(recipeError({ ...base, method: { kind: 'full' }, args: { galore: { rank: 16 } } }).message).toMatchInlineSnapshot(`
      "Recipe has 1 problem
      ✖ TK397 args.galore sets GaLore's projection, but args.optimizer is 'adamw_torch', so it would be ignored → at args.galore
        value: {"optimTargetModules":"all-linear","rank":16,"updateProjG...
        fix: Set args.optimizer: 'galore_adamw', or remove args.galore."
    `)
  })

  it("fills GaLore's settings (transformers' defaults) into the train node", async () => {
    const recipe = defineRecipe({ ...base, backend: 'torch', method: { kind: 'full' }, args: { optimizer: 'galore_adamw' } })
    const graph = await compile(recipe, { baseDir: '.', cacheDir: '/nonexistent-cache' })
    const train = graph.nodes.find((n) => n.kind === 'train')!
    expect((train.params as { args: { galore: unknown } }).args.galore).toEqual({ optimTargetModules: 'all-linear', rank: 128, updateProjGap: 200, scale: 0.25, projType: 'std' })
  })
})
