// torchrun on CPU (gloo), 2 processes on this machine: the micro-batches of each step are dealt to
// the ranks, so every step's loss, the eval loss and the trained adapter are the one-process run's,
// under DDP and under FSDP; a 2-process FSDP checkpoint resumed by one process continues as the
// one-process run does.
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineRecipe, inline, isTunekitError, parseRecipe, type Recipe } from '@tunekit/core'
import { readSafetensors } from '@tunekit/hf'
import { createTorchBackend } from '@tunekit/torch'
import { runCli } from '@tunekit/cli'
import { tinyTokenizer } from '../data/helpers.ts'
import { python, records, repoRoot, runRecipe, tempDir, type Run } from './helpers.ts'

type Distributed = { nprocPerNode: number; strategy: 'ddp' | 'fsdp'; masterPort: number }

/** 4 steps of 2 micro-batches of 2 samples (a global batch of 4), eval every 2 steps, a checkpoint at step 2. */
const recipe = (distributed?: Distributed): Recipe<'mistral'> =>
  defineRecipe<'mistral'>({
    name: 'tiny-torchrun',
    model: {
      id: 'tunekit/tiny-mistral',
      family: 'mistral',
      dtype: 'float32',
      random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 322, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128 } },
    },
    data: { source: inline(records), format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 4 } },
    tokens: { chatml: true },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], trainableTokens: true },
    args: { batchSize: 2, gradientAccumulationSteps: 2, maxSteps: 4, learningRate: 1e-2, logEvery: 1, evalEvery: 2, saveEvery: 2, seed: 3 },
    backend: 'torch',
    device: 'cpu',
    output: { merge: false },
    ...(distributed ? { distributed } : {}),
  })

/** A TCP port nobody listens on now (the rendezvous of one torchrun). */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })

const losses = (run: Run, type: 'step' | 'eval'): Map<number, number> =>
  new Map(run.events.flatMap((e) => (e.type === type ? [[e.step, e.loss] as const] : [])))

const maxDiff = (a: Map<number, number>, b: Map<number, number>): number => {
  expect([...a.keys()]).toEqual([...b.keys()])
  return Math.max(...[...a].map(([step, loss]) => Math.abs(loss - b.get(step)!)))
}

async function adapterDiff(a: string, b: string): Promise<number> {
  const [x, y] = await Promise.all([a, b].map(async (dir) => (await readSafetensors(join(dir, 'adapter_model.safetensors'))).tensors))
  expect([...x!.keys()].sort()).toEqual([...y!.keys()].sort())
  let diff = 0
  for (const [name, t] of x!) {
    const u = y!.get(name)!
    expect(u.shape).toEqual(t.shape)
    for (let i = 0; i < t.data.length; i++) diff = Math.max(diff, Math.abs(Number(t.data[i]) - Number(u.data[i])))
  }
  return diff
}

describe('torchrun on CPU: 2 processes train as one', { timeout: 600_000 }, () => {
  const backend = createTorchBackend({ python })
  const caches: string[] = []
  const cache = (): string => caches[caches.push(tempDir('cache')) - 1]!
  afterAll(() => caches.forEach((d) => rmSync(d, { recursive: true, force: true })))
  let one: Run
  let ddp: Run
  let fsdp: Run
  let resumed: Run

  beforeAll(async () => {
    // one run at a time: the machine's cores are shared
    one = await runRecipe(recipe(), backend, { until: 'train', cacheDir: cache() })
    ddp = await runRecipe(recipe({ nprocPerNode: 2, strategy: 'ddp', masterPort: await freePort() }), backend, { until: 'train', cacheDir: cache() })
    fsdp = await runRecipe(recipe({ nprocPerNode: 2, strategy: 'fsdp', masterPort: await freePort() }), backend, { until: 'train', cacheDir: cache() })
    // the FSDP run's checkpoint (its tensors gathered whole by rank 0) in a one-process run's work folder
    resumed = await runRecipe(recipe(), backend, {
      until: 'train',
      cacheDir: cache(),
      beforeRun: async (work) => cpSync(join(fsdp.work('train'), 'checkpoint-2'), join(work('train'), 'checkpoint-2'), { recursive: true }),
    })
  }, 600_000)

  it('per-step and eval losses within 1e-5 of the one-process run, under DDP and FSDP', () => {
    expect(losses(one, 'step').size).toBe(4)
    expect(losses(one, 'eval').size).toBe(2)
    for (const [name, run] of [['ddp', ddp], ['fsdp', fsdp]] as const) {
      const step = maxDiff(losses(run, 'step'), losses(one, 'step'))
      const evalDiff = maxDiff(losses(run, 'eval'), losses(one, 'eval'))
      console.log(`${name}: max |step loss − one process| = ${step.toExponential(2)}, eval ${evalDiff.toExponential(2)}`)
      expect(step).toBeLessThan(1e-5)
      expect(evalDiff).toBeLessThan(1e-5)
      // rank 0 alone prints events: one step event per step
      expect(run.events.filter((e) => e.type === 'step')).toHaveLength(4)
    }
  })

  it('the trained adapters equal the one-process adapter within 1e-5', async () => {
    for (const run of [ddp, fsdp]) expect(await adapterDiff(run.artifact('train'), one.artifact('train'))).toBeLessThan(1e-5)
  })

  it('rank 0 alone writes: one checkpoint folder, no temp folders', () => {
    for (const run of [ddp, fsdp]) expect(readdirSync(run.work('train')).filter((f) => f.includes('checkpoint'))).toEqual(['checkpoint-2'])
  })

  it('a 2-process checkpoint resumed by one process gives the one-process losses after it, and its adapter', async () => {
    const after = losses(resumed, 'step')
    expect([...after.keys()]).toEqual([3, 4])
    const reference = new Map([...losses(one, 'step')].filter(([s]) => s > 2))
    expect(maxDiff(after, reference)).toBeLessThan(1e-5)
    expect(await adapterDiff(resumed.artifact('train'), one.artifact('train'))).toBeLessThan(1e-5)
    expect(existsSync(join(resumed.work('train'), 'checkpoint-2'))).toBe(true)
  })

})

describe('the distributed group is checked before any process starts', () => {
  it('invalid combinations are catalog errors, all at once', () => {
    const bad = { ...recipe(), backend: 'tfjs', stage: { kind: 'sft' }, args: { ...recipe().args, gradientAccumulationSteps: 3 }, distributed: { nprocPerNode: 2, nnodes: 2, nodeRank: 2, strategy: 'fsdp' }, model: { ...recipe().model, quantize: { bits: 4, type: 'nf4' } } }
    const err = (() => {
      try {
        parseRecipe(bad)
      } catch (e) {
        return e
      }
    })()
    expect(isTunekitError(err) && err.issues.map((i) => i.code)).toEqual(['TK650', 'TK651', 'TK652', 'TK654'])
    expect((err as Error).message).toMatchInlineSnapshot(`
      "Recipe has 4 problems
      ✖ TK650 the recipe has a distributed group, which launches the torch worker under torchrun, but backend is "tfjs" → at backend
        value: "tfjs"
        fix: Set backend: 'torch', or remove the distributed group to train in one process.
      ✖ TK651 distributed runs 4 process(es) (nprocPerNode × nnodes), but an optimiser step has 3 micro-batch(es) (args.gradientAccumulationSteps): each process takes an equal share of every step's micro-batches, so the global batch stays batchSize × gradientAccumulationSteps → at distributed.nprocPerNode
        value: 2
        fix: Set args.gradientAccumulationSteps to a multiple of 4 (e.g. 4, with args.batchSize 2 that is 8 samples a step), or run 3 process(es) or a divisor of it.
      ✖ TK652 distributed.nodeRank is 2, but with nnodes 2 the machines are numbered 0 to 1 → at distributed.nodeRank
        value: 2
        fix: Give each machine its own --node-rank from 0 to nnodes − 1 (machine 0 is at masterAddr), or raise distributed.nnodes.
      ✖ TK654 distributed.strategy 'fsdp' shards the base weights, but model.quantize packs them as bitsandbytes 4/8-bit tensors, which the worker's fully_shard does not split → at distributed.strategy
        value: "fsdp"
        fix: Use distributed.strategy: 'ddp' for QLoRA (each process holds the 4-bit base; only the adapter's gradients are summed), or drop model.quantize."
    `)
  })

  it("the command line's per-machine flags set the group's keys, checked as the recipe's", async () => {
    let err = ''
    const args = ['graph', join(repoRoot, 'recipes/tiny-chat.ts'), '--nproc-per-node', '2', '--node-rank', '1', '--master-port', '29511']
    const code = await runCli(args, { cwd: mkdtempSync(join(tmpdir(), 'tunekit-cwd-')), out: () => {}, err: (t) => void (err += t) })
    expect(code).toBe(1)
    // tiny-chat trains on tfjs with one micro-batch a step, on one machine
    expect(err.match(/TK65\d/g)).toEqual(['TK650', 'TK651', 'TK652'])
  })
})
