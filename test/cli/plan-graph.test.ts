import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '@tunekit/cli'

const root = fileURLToPath(new URL('../../', import.meta.url))
const recipes = readdirSync(join(root, 'recipes')).filter((f) => f.endsWith('.ts')).map((f) => `recipes/${f}`)
// The encoder's qa stage has its own nodes (and parameters and memory, but no ETA: no encoder throughput figure).
const QA = new Set(['recipes/faq-qa.ts'])
// The dpo, rm, grpo and ppo recipes chained from a tiny-chat recipe (init.recipe) list its nodes under its name, then their own.
const chainedFrom = (name: string) => [`${name}/collate`, `${name}/train`, `${name}/merge`, 'model', 'tokenize']
const CHAINED: Record<string, { nodes: string[]; edge: string }> = {
  'recipes/opposites-dpo.ts': { nodes: [...chainedFrom('tiny-chat'), 'ref-logprobs', 'pair-split', 'train', 'merge'], edge: 'tiny-chat_merge --> model' },
  'recipes/opposites-rm.ts': { nodes: [...chainedFrom('tiny-chat'), 'train', 'merge'], edge: 'tiny-chat_merge --> model' },
  // GRPO from tiny-chat stopped early (tiny-chat-short): prompts from tokenize, no collate of its own
  'recipes/opposites-grpo.ts': { nodes: [...chainedFrom('tiny-chat-short'), 'train', 'merge'], edge: 'tiny-chat-short_merge --> model' },
  // PPO from the same short SFT, its reward model (opposites-rm on that SFT) joined under its name, read by train
  'recipes/opposites-ppo.ts': { nodes: [...chainedFrom('tiny-chat-short'), 'opposites-rm-short/train', 'train', 'merge'], edge: 'opposites-rm-short_train --> train' },
}
const shape = (recipe: string) =>
  QA.has(recipe)
    ? { nodes: ['model', 'source', 'qa-features', 'qa-train', 'qa-eval'], edge: 'qa-features --> qa-train', qa: true }
    : CHAINED[recipe]
      ? { ...CHAINED[recipe], qa: false }
      : { nodes: ['model', 'source', 'tokenize', 'collate', 'train', 'merge'], edge: 'train --> merge', qa: false }

// No weights and no datasets: an empty Hub cache, no model path.
beforeAll(() => {
  process.env.HF_HOME = mkdtempSync(join(tmpdir(), 'tunekit-hf-'))
  delete process.env.HF_HUB_CACHE
  delete process.env.TUNEKIT_MODEL_PATH
})

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const cacheDir = mkdtempSync(join(tmpdir(), 'tunekit-cwd-'))
  // A fresh working directory: the artifact cache (.tunekit/cache) starts empty.
  const code = await runCli(args.map((a) => (a.startsWith('recipes/') ? join(root, a) : a)), { cwd: cacheDir, out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

describe.each(recipes)('%s with no weights present', (recipe) => {
  it('plan prints the graph, parameters and a memory estimate', async () => {
    const r = await cli('plan', recipe)
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^plan: [\w-]+\n/)
    const { nodes, qa } = shape(recipe)
    for (const node of nodes) expect(r.out).toContain(`○ ${node}`)
    if (qa) expect(r.out).toContain('ETA: unknown (no throughput figure for encoders yet')
    expect(r.out).toMatch(/trainable: [\d.]+[KMB]? of [\d.]+[KMB]/)
    expect(r.out).toMatch(/total\s+[\d.]+ [MG]B/)
  })

  it('plan --json is the same plan for programs', async () => {
    const r = await cli('plan', recipe, '--json')
    expect(r.code).toBe(0)
    const plan = JSON.parse(r.out) as { recipeName: string; nodes: { id: string; status: string }[]; memory: { totalBytes?: number } | null }
    expect(plan.nodes.every((n) => n.status === 'to run')).toBe(true)
    expect(plan.memory).not.toBeNull()
  })

  it('graph draws mermaid', async () => {
    const mermaid = await cli('graph', recipe)
    expect(mermaid.code).toBe(0)
    expect(mermaid.out).toMatch(/^flowchart TD\n/)
    expect(mermaid.out).toContain(shape(recipe).edge)
  })
})

// The json and dot renderings are the same graph in other syntax: once for a plain recipe and once
// for a chained one (each call compiles the recipe again: ~2 s here).
it.each(['recipes/tiny-chat.ts', 'recipes/opposites-ppo.ts'])('graph %s draws json and dot too', async (recipe) => {
  const json = await cli('graph', recipe, '--format', 'json')
  const { nodes } = JSON.parse(json.out) as { nodes: { id: string }[] }
  expect(nodes.map((n) => n.id)).toEqual(expect.arrayContaining(shape(recipe).nodes))
  const dot = await cli('graph', recipe, '--format', 'dot')
  expect(dot.out).toMatch(/^digraph/)
})

it('plan names what is missing and how to provide it, without failing', async () => {
  const r = await cli('plan', 'recipes/mistral-oasst.ts')
  expect(r.out).toContain('note: the weights of "mistralai/Mistral-7B-v0.1" are not on this machine')
  expect(r.out).toContain('--model-path or TUNEKIT_MODEL_PATH')
  expect(r.out).toContain('--data-path')
})

it('an unknown graph format is a usage error with exit code 1', async () => {
  const r = await cli('graph', 'recipes/tiny-chat.ts', '--format', 'png')
  expect(r.code).toBe(1)
  expect(r.err).toContain("argument 'png' is invalid. Allowed choices are mermaid, dot, json.")
})

it('plan --probe asks the backend what this machine has instead of assuming', async () => {
  const r = await cli('plan', 'recipes/tiny-chat.ts', '--probe')
  expect(r.code).toBe(0)
  expect(r.out).toMatch(/^backend: tfjs \(tfjs-(wasm|cpu|node|node-gpu), \w+\) — /m)
  expect(r.out).not.toContain('not probed')
})
