import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { ArgsOptions, DataOptions, NodeContext, NodeExecutor, Source, Format, TokensOptions } from '@tunekit/core'
import { runSource, type DatasetInfoPick } from './sources/run-source.ts'
import { runFormat } from './formats/run-format.ts'
import { runTokenize } from './tokenize/run-tokenize.ts'
import { splitFromSets, splitShards } from './plan/split.ts'
import { makeBatchPlan } from './plan/batch-plan.ts'
import { readShards } from './shards/shards.ts'
import { writeJsonAtomic } from '@tunekit/core'

/** The folder holding the model's tokenizer: `model-ref.json`'s path, else the artifact itself. */
export async function modelFolder(artifact: string): Promise<string> {
  const ref = join(artifact, 'model-ref.json')
  if (!existsSync(ref)) return artifact
  return (JSON.parse(await readFile(ref, 'utf8')) as { path: string }).path
}

type Params<T> = T & Record<string, unknown>

/** The artifact folder of the input node of `kind` (the eval chain's nodes have ids like `eval-format`). */
function inputOfKind(ctx: NodeContext, kind: string): string {
  const kinds = new Map(ctx.graph.nodes.map((n) => [n.id, n.kind]))
  const id = ctx.node.inputs.find((i) => kinds.get(i) === kind) ?? kind
  return ctx.input(id)
}

const source: NodeExecutor = async (ctx: NodeContext) => {
  const p = ctx.node.params as unknown as Params<{ source: Source; limit?: number; datasetInfo?: DatasetInfoPick }>
  const summary = await runSource(p.source, ctx.outDir, { baseDir: ctx.baseDir, limit: p.limit, datasetInfo: p.datasetInfo })
  ctx.emit({ type: 'node-progress', node: ctx.node.id, done: summary.records, unit: 'records' })
}

const format: NodeExecutor = async (ctx) => {
  const p = ctx.node.params as unknown as Params<{ format: Format; onError: 'fail' | 'skip' }>
  const summary = await runFormat(p.format, inputOfKind(ctx, 'source'), ctx.outDir, { onError: p.onError ?? 'fail', baseDir: ctx.baseDir })
  for (const s of summary.skipped) ctx.emit({ type: 'log', node: ctx.node.id, level: 'warn', message: `skipped ${s.where}: ${s.reason}` })
  ctx.emit({ type: 'node-progress', node: ctx.node.id, done: summary.conversations, unit: 'conversations' })
}

type TokenizeParams = Pick<DataOptions, 'template' | 'maxLength' | 'truncation' | 'mask' | 'onError'> & { tokens: TokensOptions; family?: string }

const tokenize: NodeExecutor = async (ctx) => {
  const p = ctx.node.params as unknown as Params<TokenizeParams>
  const { table } = await runTokenize(join(inputOfKind(ctx, 'format'), 'conversations.jsonl'), await modelFolder(inputOfKind(ctx, 'model')), ctx.outDir, {
    template: p.template ?? 'chatml',
    maxLength: p.maxLength ?? 1024,
    truncation: p.truncation ?? 'truncate',
    mask: p.mask ?? 'assistant',
    onError: p.onError ?? 'fail',
    tokens: p.tokens ?? {},
    key: ctx.node.key,
  })
  ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `data checks\n${table}` })
}

const split: NodeExecutor = async (ctx) => {
  const p = ctx.node.params as unknown as Params<{ split?: { eval?: number; seed?: number } }>
  // With the source's own eval split, the eval chain's shards are the eval set as they are.
  const [trainInput, evalInput] = ctx.node.inputs
  if (evalInput) await splitFromSets(ctx.input(trainInput!), ctx.input(evalInput), ctx.outDir, { key: ctx.node.key })
  else await splitShards(ctx.input('tokenize'), ctx.outDir, { eval: p.split?.eval ?? 0.05, seed: p.split?.seed ?? 42, key: ctx.node.key })
}

type CollateParams = Pick<ArgsOptions, 'batchSize' | 'gradientAccumulationSteps' | 'epochs' | 'groupByLength' | 'seed'> & {
  maxSteps?: number
  packing: boolean
  maxLength: number
}

const collate: NodeExecutor = async (ctx) => {
  const p = ctx.node.params as unknown as Params<CollateParams>
  const dir = ctx.input('split')
  const train = await readShards(join(dir, 'train'))
  const evalIndex = JSON.parse(await readFile(join(dir, 'eval', 'index.json'), 'utf8')) as { lengths: number[] }
  const trained = train.index.lengths.map((len, i) => {
    const start = train.index.offsets[i]!
    let n = 0
    for (let t = start + 1; t < start + len; t++) n += train.mask[t]!
    return n
  })
  const plan = makeBatchPlan({ lengths: train.index.lengths, trained }, { lengths: evalIndex.lengths }, {
    batchSize: p.batchSize ?? 8,
    gradientAccumulationSteps: p.gradientAccumulationSteps ?? 1,
    epochs: p.epochs ?? 3,
    maxSteps: p.maxSteps,
    groupByLength: p.groupByLength ?? false,
    seed: p.seed ?? 42,
    packing: p.packing ?? false,
    maxLength: p.maxLength ?? 1024,
  })
  await writeJsonAtomic(join(ctx.outDir, 'plan.json'), plan)
  ctx.emit({
    type: 'log',
    node: ctx.node.id,
    level: 'info',
    message: `batch plan: ${plan.stepsPerEpoch} steps/epoch, ${plan.totalSteps} steps, padding efficiency ${(plan.paddingEfficiency * 100).toFixed(1)}%, ${plan.trainedTokensPerEpoch} trained tokens/epoch`,
  })
}

/** Executors of the data nodes, for the graph runner. */
export const dataExecutors: Record<'source' | 'format' | 'tokenize' | 'split' | 'collate', NodeExecutor> = { source, format, tokenize, split, collate }
