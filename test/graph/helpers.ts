// Small, real executors for the runner tests: each reads only its params and its inputs'
// artifacts and writes a real artifact. `train` is a counting node: it takes `totalSteps` steps
// of a one-weight regression, checkpointing to its workDir after every step, and returns early
// when aborted, so a resumed run can be compared with an uninterrupted one.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineRecipe, inline, nodeParams, type NodeContext, type NodeExecutor, type NodeKind, type Recipe, type RecipeInput } from '@tunekit/core'

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `tunekit-${prefix}-`))

/** Twelve seeded records of ChatML-free prompt/response pairs. */
export const records = Array.from({ length: 12 }, (_, i) => ({
  prompt: `What is ${i} plus ${i + 1}?`,
  response: `${i} plus ${i + 1} is ${2 * i + 1}.`,
}))

export function tinyRecipe(over: Partial<RecipeInput<'mistral', 'sft'>> = {}): Recipe<'mistral'> {
  return defineRecipe<'mistral'>({
    name: 'tiny',
    model: { id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 1 } },
    data: { source: inline(records), format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 2 } },
    args: { batchSize: 2, epochs: 2, learningRate: 0.1 },
    ...over,
  })
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T
const writeJson = (file: string, value: unknown): void => writeFileSync(file, `${JSON.stringify(value)}\n`)

/** Executors plus how many times each kind ran. */
export interface TestExecutors {
  executors: Partial<Record<NodeKind, NodeExecutor>>
  runs: Record<string, number>
}

export function testExecutors(opts: { stepDelayMs?: number } = {}): TestExecutors {
  const runs: Record<string, number> = {}
  const counted = (kind: NodeKind, fn: NodeExecutor): [NodeKind, NodeExecutor] => [kind, async (ctx) => {
    runs[kind] = (runs[kind] ?? 0) + 1
    await fn(ctx)
  }]
  const entries: [NodeKind, NodeExecutor][] = [
    counted('model', async (ctx) => {
      const p = nodeParams('model', ctx.node)
      writeJson(join(ctx.outDir, 'model-ref.json'), { id: p.id, seed: p.random?.seed })
    }),
    counted('source', async (ctx) => {
      const source = nodeParams('source', ctx.node).source as { records: Record<string, string>[] }
      writeFileSync(join(ctx.outDir, 'records.jsonl'), source.records.map((r) => JSON.stringify(r)).join('\n') + '\n')
      writeJson(join(ctx.outDir, 'source.json'), { records: source.records.length })
    }),
    counted('format', async (ctx) => {
      const lines = readFileSync(join(ctx.input('source'), 'records.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>)
      const conversations = lines.map((r, id) => ({ id, messages: [{ role: 'user', content: r.prompt }, { role: 'assistant', content: r.response }] }))
      writeFileSync(join(ctx.outDir, 'conversations.jsonl'), conversations.map((c) => JSON.stringify(c)).join('\n') + '\n')
      writeJson(join(ctx.outDir, 'format.json'), { conversations: conversations.length, skipped: 0 })
    }),
    counted('tokenize', async (ctx) => {
      // Byte-level "tokenizer": one id per UTF-8 byte, loss on the assistant's bytes.
      const maxLength = nodeParams('tokenize', ctx.node).maxLength
      const convs = readFileSync(join(ctx.input('format'), 'conversations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { messages: { content: string }[] })
      const ids: number[] = []
      const mask: number[] = []
      const offsets: number[] = []
      const lengths: number[] = []
      let truncated = 0
      for (const c of convs) {
        const prompt = [...Buffer.from(c.messages[0]!.content)]
        const answer = [...Buffer.from(c.messages[1]!.content)]
        let sample = [...prompt, ...answer]
        let m = [...prompt.map(() => 0), ...answer.map(() => 1)]
        if (sample.length > maxLength) { sample = sample.slice(0, maxLength); m = m.slice(0, maxLength); truncated++ }
        offsets.push(ids.length)
        lengths.push(sample.length)
        ids.push(...sample)
        mask.push(...m)
      }
      writeShards(ctx.outDir, ids, mask, offsets, lengths, ctx.node.key)
      writeJson(join(ctx.outDir, 'report.json'), { samples: convs.length, tokens: ids.length, trainedTokens: mask.filter((x) => x === 1).length, truncated })
    }),
    counted('split', async (ctx) => {
      const dir = ctx.input('tokenize')
      const index = readJson<{ count: number; offsets: number[]; lengths: number[] }>(join(dir, 'index.json'))
      const ids = readIds(join(dir, 'ids.bin'))
      const mask = readFileSync(join(dir, 'mask.bin'))
      const evalCount = nodeParams('split', ctx.node).split.eval
      for (const [part, picks] of [['eval', range(0, evalCount)], ['train', range(evalCount, index.count)]] as const) {
        const out = { ids: [] as number[], mask: [] as number[], offsets: [] as number[], lengths: [] as number[] }
        for (const i of picks) {
          const o = index.offsets[i]!
          const n = index.lengths[i]!
          out.offsets.push(out.ids.length)
          out.lengths.push(n)
          out.ids.push(...ids.subarray(o, o + n))
          out.mask.push(...mask.subarray(o, o + n))
        }
        mkdirSync(join(ctx.outDir, part))
        writeShards(join(ctx.outDir, part), out.ids, out.mask, out.offsets, out.lengths, ctx.node.key)
      }
    }),
    counted('collate', async (ctx) => {
      const p = nodeParams('collate', ctx.node)
      const index = readJson<{ count: number; lengths: number[] }>(join(ctx.input('split'), 'train', 'index.json'))
      const microBatches: { length: number; rows: { sample: number; start: number; length: number }[][] }[] = []
      for (let i = 0; i < index.count; i += p.batchSize) {
        const rows = range(i, Math.min(index.count, i + p.batchSize)).map((s) => [{ sample: s, start: 0, length: index.lengths[s]! }])
        microBatches.push({ length: Math.max(...rows.map((r) => r[0]!.length)), rows })
      }
      const stepsPerEpoch = Math.ceil(microBatches.length / p.gradientAccumulationSteps)
      writeJson(join(ctx.outDir, 'plan.json'), {
        version: 1, seqLen: p.maxLength, microBatchSize: p.batchSize, gradientAccumulationSteps: p.gradientAccumulationSteps,
        stepsPerEpoch, totalSteps: stepsPerEpoch * p.epochs, epochs: p.epochs, epochsPlan: range(0, p.epochs).map(() => ({ microBatches })),
      })
    }),
    counted('train', (ctx) => countingTrain(ctx, opts.stepDelayMs ?? 0)),
    counted('merge', async (ctx) => {
      const adapter = readJson<{ weight: number }>(join(ctx.input('train'), 'adapter.json'))
      writeJson(join(ctx.outDir, 'merged.json'), { base: readJson(join(ctx.input('model'), 'model-ref.json')), weight: adapter.weight })
    }),
    counted('eval', async (ctx) => {
      // The trained weight's squared distance from 0.5, standing in for an eval loss.
      const adapter = readJson<{ weight: number }>(join(ctx.input('train'), 'adapter.json'))
      const loss = (adapter.weight - 0.5) ** 2
      writeJson(join(ctx.outDir, 'eval.json'), { loss, perplexity: Math.exp(loss), tokens: 1, samples: 1 })
      ctx.emit({ type: 'eval', node: ctx.node.id, step: 0, epoch: 0, loss, perplexity: Math.exp(loss), tokens: 1 })
    }),
    counted('generate', async (ctx) => {
      const merged = readJson<{ weight: number }>(join(ctx.input('merge'), 'merged.json'))
      const prompts = nodeParams('generate', ctx.node).samples
      writeFileSync(join(ctx.outDir, 'samples.jsonl'), prompts.map((prompt) => JSON.stringify({ prompt, completion: merged.weight.toFixed(6) })).join('\n') + '\n')
    }),
  ]
  return { executors: Object.fromEntries(entries), runs }
}

// A copy: small files come back as views into Node's shared buffer pool, at an offset.
const readIds = (file: string): Int32Array => new Int32Array(new Uint8Array(readFileSync(file)).buffer)

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i)

function writeShards(dir: string, ids: number[], mask: number[], offsets: number[], lengths: number[], key: string): void {
  writeFileSync(join(dir, 'ids.bin'), Buffer.from(Int32Array.from(ids).buffer))
  writeFileSync(join(dir, 'mask.bin'), Uint8Array.from(mask))
  writeJson(join(dir, 'index.json'), { format: 'tunekit-shards', version: 1, key, count: offsets.length, offsets, lengths, stats: { tokens: ids.length } })
}

interface TrainState { step: number; weight: number; lossHistory: number[] }

/** Latest checkpoint in workDir, or the start. */
function resumeState(workDir: string): TrainState {
  const steps = readdirSync(workDir).filter((f) => /^checkpoint-\d+$/.test(f)).map((f) => Number(f.slice(11))).sort((a, b) => b - a)
  if (steps.length === 0) return { step: 0, weight: 0, lossHistory: [] }
  return readJson<TrainState>(join(workDir, `checkpoint-${steps[0]}`, 'trainer_state.json'))
}

/**
 * Counts to `totalSteps`: each step moves one weight toward the mean label byte of its
 * micro-batch (SGD on a squared error), checkpoints, and stops early when aborted.
 */
async function countingTrain(ctx: NodeContext, stepDelayMs: number): Promise<void> {
  const lr = nodeParams('train', ctx.node).args.learningRate
  const plan = readJson<{ totalSteps: number; stepsPerEpoch: number; epochsPlan: { microBatches: { rows: { sample: number }[][] }[] }[] }>(join(ctx.input('collate'), 'plan.json'))
  const train = join(ctx.input('split'), 'train')
  const index = readJson<{ offsets: number[]; lengths: number[] }>(join(train, 'index.json'))
  const ids = readIds(join(train, 'ids.bin'))
  const mask = readFileSync(join(train, 'mask.bin'))
  const micro = plan.epochsPlan.flatMap((e) => e.microBatches)
  const state = resumeState(ctx.workDir)
  while (state.step < plan.totalSteps) {
    if (ctx.signal.aborted) return // the last checkpoint is on disk
    const batch = micro[state.step]!
    let sum = 0
    let n = 0
    for (const row of batch.rows) {
      const s = row[0]!.sample
      for (let t = index.offsets[s]!; t < index.offsets[s]! + index.lengths[s]!; t++) if (mask[t] === 1) { sum += ids[t]! / 255; n++ }
    }
    const target = sum / n
    const loss = (state.weight - target) ** 2
    state.weight -= lr * 2 * (state.weight - target) // d(loss)/dw
    state.lossHistory.push(loss)
    state.step++
    const dir = join(ctx.workDir, `checkpoint-${state.step}`)
    const tmp = `${dir}.tmp`
    rmSync(tmp, { recursive: true, force: true })
    mkdirSync(tmp)
    writeJson(join(tmp, 'trainer_state.json'), state)
    renameSync(tmp, dir)
    const old = join(ctx.workDir, `checkpoint-${state.step - 2}`)
    if (existsSync(old)) rmSync(old, { recursive: true })
    ctx.emit({ type: 'step', node: ctx.node.id, step: state.step, totalSteps: plan.totalSteps, epoch: state.step / plan.stepsPerEpoch, loss, learningRate: lr, gradNorm: Math.abs(2 * (state.weight - target)), tokensPerSecond: n })
    if (stepDelayMs) await new Promise((r) => setTimeout(r, stepDelayMs))
  }
  writeJson(join(ctx.outDir, 'adapter.json'), { weight: state.weight, steps: state.step, lossHistory: state.lossHistory })
}
