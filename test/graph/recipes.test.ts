import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, formatPlan, plan, renderGraph, type Recipe } from '@tunekit/core'
import { tempDir } from './helpers.ts'

const recipesDir = resolve(import.meta.dirname, '../../recipes')
const files = readdirSync(recipesDir).filter((f) => f.endsWith('.ts'))

describe('plan and graph on every shipped recipe, with no weights present', () => {
  it.each(files)('%s', async (name) => {
    const { recipe } = (await import(join(recipesDir, name))) as { recipe: Recipe }
    const root = tempDir('recipes')
    const env = { HF_HOME: join(root, 'empty-hf') }
    const cacheDir = join(root, 'cache')
    const graph = await compile(recipe, { baseDir: recipesDir, cacheDir, env })
    // the encoder's qa stage has its own nodes; it is planned like the others (no ETA: no encoder throughput figure)
    const qa = recipe.stage.kind === 'qa'
    // a preference stage batches its pairs itself (no collate): pair-split feeds dpo's train node, tokenize the reward model's
    const edge = qa ? 'qa-features --> qa-train' : recipe.stage.kind === 'dpo' ? 'pair-split --> train' : recipe.stage.kind === 'rm' || recipe.stage.kind === 'grpo' || recipe.stage.kind === 'ppo' ? 'tokenize --> train' : 'collate --> train'
    expect(renderGraph(graph, 'mermaid')).toContain(edge)
    const p = plan(graph, { cacheDir, throughputFile: join(root, 'none.json') })
    expect(p.nodes.every((n) => n.status === 'to run')).toBe(true)
    expect(p.memory).not.toBeNull() // known checkpoints and random models: numbers without config.json
    expect(formatPlan(p)).toContain(`plan: ${recipe.name}`)
  })

  it('the Mistral recipe plans ≈ 4 GB of NF4 weights on a machine with an NVIDIA driver (bfloat16 for the rest)', async () => {
    const { recipe } = (await import(join(recipesDir, 'mistral-oasst.ts'))) as { recipe: Recipe }
    const root = tempDir('recipes')
    const cacheDir = join(root, 'cache')
    const p = plan(await compile(recipe, { baseDir: recipesDir, cacheDir, env: { HF_HOME: join(root, 'hf') } }), { cacheDir, nvidiaDriver: true })
    expect(p.backend.device).toBe('cuda')
    expect(p.memory!.weightsDetail.quantized).toBe('nf4')
    expect(Math.abs(p.memory!.weights - 4e9) / 4e9).toBeLessThan(0.15)
  })
})
