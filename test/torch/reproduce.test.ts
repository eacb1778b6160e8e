// A recipe reproduces a transformers + PEFT LoRA run: the same initial adapter (lora.init = the
// adapter PEFT saved), the same ids and labels (data.format 'tokens' = the file the reference
// trained on) and the same order (args.shuffle: false): per-step losses within 1e-5 on each backend.
import { spawnSync } from 'node:child_process'
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compile, defineRecipe, file, isTunekitError, type Recipe } from '@tunekit/core'
import { resolveModelDir } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { python, runRecipe, tempDir, tinyModel, tinyRecipe, type Run } from './helpers.ts'

const STEPS = 10
const BATCH = 2
const LR = 1e-2

/** What a user writes to reproduce the reference: its adapter, its token file, its order. */
const reproduce = (backend: 'tfjs' | 'torch', adapter: string, tokens: string, over: { rank?: number; alpha?: number } = {}): Recipe<'mistral'> =>
  defineRecipe<'mistral'>({
    name: 'reproduce-peft',
    model: tinyModel,
    data: { source: file(tokens), format: 'tokens', maxLength: 64, split: { eval: 0 } },
    lora: { rank: over.rank ?? 4, alpha: over.alpha ?? 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], init: adapter },
    args: { batchSize: BATCH, maxSteps: STEPS, learningRate: LR, lrScheduler: 'constant', shuffle: false, logEvery: 1, evalEvery: 'never', saveEvery: 'never' },
    backend,
    device: 'cpu',
  })

const stepLosses = (run: Run): number[] => run.events.flatMap((e) => (e.type === 'step' ? [e.loss] : []))

describe('reproducing a transformers + PEFT LoRA run', { timeout: 600_000 }, () => {
  let work: string
  let reference: number[]
  let baseLoss: number
  const caches: string[] = []
  const cache = (): string => caches[caches.push(tempDir('cache')) - 1]!
  afterAll(() => [work, ...caches].forEach((d) => rmSync(d, { recursive: true, force: true })))

  beforeAll(async () => {
    // the base model: tunekit's tiny random Mistral, written by the model node
    const base = await runRecipe(tinyRecipe({ backend: 'tfjs' }), createTfjsBackend({ device: 'cpu' }), { until: 'model', cacheDir: cache() })
    work = tempDir('reproduce')
    const request = { model: await resolveModelDir(base.artifact('model')), out: work, records: STEPS * BATCH, batch: BATCH, lr: LR, seed: 5 }
    const r = spawnSync(python, [join(import.meta.dirname, 'peft_reference.py')], { input: JSON.stringify(request), encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' } })
    if (r.status !== 0) throw new Error(`peft_reference.py exited ${r.status}:\n${r.stderr.slice(-3000)}`)
    const out = JSON.parse(r.stdout) as { losses: number[]; baseLoss: number }
    reference = out.losses
    baseLoss = out.baseLoss
  })

  it('per-step losses match the reference within 1e-5 on tfjs and on torch', async () => {
    const adapter = join(work, 'initial-adapter')
    const tokens = join(work, 'tokens.jsonl')
    const [tfjs, torch] = await Promise.all([
      runRecipe(reproduce('tfjs', adapter, tokens), createTfjsBackend({ device: 'cpu' }), { until: 'train', cacheDir: cache() }),
      runRecipe(reproduce('torch', adapter, tokens), createTorchBackend({ python }), { until: 'train', cacheDir: cache() }),
    ])
    expect(reference).toHaveLength(STEPS)
    // the warm start shows in the first loss (a fresh adapter, B = 0, would give the base model's)
    expect(Math.abs(reference[0]! - baseLoss)).toBeGreaterThan(1e-3)
    const show = (name: string, l: number[]) => `${name} ${l.map((x) => x.toFixed(7)).join(', ')}`
    for (const [name, run] of [['tfjs', tfjs], ['torch', torch]] as const) {
      const got = stepLosses(run)
      expect(got).toHaveLength(STEPS)
      const diff = Math.max(...got.map((x, i) => Math.abs(x - reference[i]!)))
      console.log(`${name}: max |loss - reference| over ${STEPS} steps = ${diff.toExponential(2)}`)
      expect(diff, `${show('reference', reference)}\n${show(name, got)}`).toBeLessThan(1e-5)
    }
  })

  it("a mismatch of the recipe with the adapter's config stops compile, naming both values", async () => {
    const err = await compile(reproduce('tfjs', 'initial-adapter', 'tokens.jsonl', { rank: 8, alpha: 16 }), { baseDir: work }).catch((e: unknown) => e)
    expect(isTunekitError(err) && err.issues.map((i) => i.code)).toEqual(['TK242', 'TK242'])
    expect((err as Error).message).toMatchInlineSnapshot(`
      "2 problems
      ✖ TK242 "initial-adapter" has r 4 but the recipe's lora.rank is 8; a warm start continues that adapter, so its shape and scale must be the recipe's → at lora.rank
        value: 8
        fix: Set lora.rank: 4 (the adapter's value), or start from another adapter.
      ✖ TK242 "initial-adapter" has lora_alpha 8 but the recipe's lora.alpha is 16; a warm start continues that adapter, so its shape and scale must be the recipe's → at lora.alpha
        value: 16
        fix: Set lora.alpha: 8 (the adapter's value), or start from another adapter."
    `)
  })

  it('lora.init naming a folder that is not an adapter stops compile', async () => {
    const err = await compile(reproduce('tfjs', 'tokens.jsonl', 'tokens.jsonl'), { baseDir: work }).catch((e: unknown) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "lora.init names no PEFT adapter folder
      ✖ TK241 lora.init "tokens.jsonl" is not 'default' or 'gaussian', so it names the adapter folder to start from, but it is a file, not a folder → at lora.init
        value: "tokens.jsonl"
        fix: Point lora.init at a folder with adapter_config.json and adapter_model.safetensors (PEFT's save_pretrained, or runs/<name>/adapter), relative to the recipe's folder; or use 'default' / 'gaussian' to start from a fresh adapter."
    `)
  })

  it("the adapter's bytes are in the train node's key: new bytes retrain, the data nodes stay cached", async () => {
    const keys = async (init: string) => Object.fromEntries((await compile(reproduce('tfjs', init, 'tokens.jsonl'), { baseDir: work })).nodes.map((n) => [n.id, n.key]))
    cpSync(join(work, 'initial-adapter'), join(work, 'edited'), { recursive: true })
    const before = await keys('edited')
    const weights = join(work, 'edited', 'adapter_model.safetensors')
    const bytes = readFileSync(weights)
    const last = bytes.length - 1
    bytes.writeUInt8(bytes.readUInt8(last) ^ 1, last) // one bit of the last tensor's last value
    writeFileSync(weights, bytes)
    const after = await keys('edited')
    expect(after.train).not.toBe(before.train)
    expect(after.tokenize).toBe(before.tokenize)
    expect(after.collate).toBe(before.collate)
  })
})
