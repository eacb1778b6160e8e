import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatIssue, type KtoStageOptions, type RefLogprobsParams, type RunEventInput, type UnpairedRefLogprobs } from '@tunekit/core'
import { klCompletionOf, ktoWeightAdvice, requireKtoExamples, type UnpairedExample } from '@tunekit/data'
import type { tf } from '../engine.ts'
import type { AdapterState } from '../methods/state.ts'
import type { DecoderModel } from '../model/types.ts'
import type { StepObjective } from '../train/loop.ts'
import { klEstimate, ktoLoss, ktoStepMetrics } from './kto.ts'
import { ktoBatch, type KtoBatch } from './kto-batch.ts'
import { sequenceLogps } from './pair-batch.ts'
import type { PreferenceData, RefScorer } from './preference-data.ts'

const BATCH_EXAMPLES = 8 // examples per forward pass of the reference: padding does not change a row's log-probabilities

/** ref-logprobs for kto: the reference's log-probability of each example's completion and KL completion. */
export async function unpairedScorer(tokenizeDir: string, p: RefLogprobsParams): Promise<RefScorer> {
  const { examples } = await requireKtoExamples(tokenizeDir)
  const klOf = p.klBatchSize === undefined ? undefined : klCompletionOf(examples.length, p.klBatchSize)
  return (model, adapter) => {
    const out: UnpairedRefLogprobs = { records: examples.map((e) => e.record), completions: [], kl: [] }
    for (let start = 0; start < examples.length; start += BATCH_EXAMPLES) {
      const indices = Array.from({ length: Math.min(BATCH_EXAMPLES, examples.length - start) }, (_, i) => start + i)
      const batch = ktoBatch(examples, indices, klOf)
      out.completions.push(...hostLogps(model, adapter, batch))
      if (batch.kl) out.kl.push(...hostLogps(model, adapter, batch.kl))
    }
    return out
  }
}

function hostLogps(model: DecoderModel, adapter: AdapterState | undefined, batch: Parameters<typeof sequenceLogps>[2], opts: Parameters<typeof sequenceLogps>[3] = {}): number[] {
  const { answer } = sequenceLogps(model, adapter, batch, opts)
  const values = [...(answer.dataSync() as Float32Array)]
  answer.dispose()
  return values
}

/**
 * The kto train node's data: the examples in `requireKtoExamples` order, micro-batches with their KL
 * rows (KL completions rotated within runs of `args.batchSize`, as ref-logprobs scored them), and
 * TRL's advice when desirable and undesirable examples are unbalanced for their weights.
 */
export async function ktoData(tokenizeDir: string, refDir: string, options: KtoStageOptions, batchSize: number, emit: (e: RunEventInput) => void, node: string): Promise<PreferenceData<KtoBatch>> {
  const { examples } = await requireKtoExamples(tokenizeDir)
  const ref = JSON.parse(await readFile(join(refDir, 'ref-logprobs.json'), 'utf8')) as UnpairedRefLogprobs
  const advice = ktoWeightAdvice(examples, options.desirableWeight, options.undesirableWeight)
  if (advice) emit({ type: 'log', node, level: 'warn', message: formatIssue(advice) })
  const klOf = options.lossType === 'kto' ? klCompletionOf(examples.length, batchSize) : undefined
  return { count: examples.length, batch: (indices) => ktoBatch(examples, indices, klOf), objective: (model, adapter) => ktoObjective({ model, adapter, options, ref, examples }) }
}

/** The KTO objective over example micro-batches: per-example losses summed; z₀ from the KL rows, without gradient. */
function ktoObjective(ctx: { model: DecoderModel; adapter: AdapterState; options: KtoStageOptions; ref: UnpairedRefLogprobs; examples: readonly UnpairedExample[] }): StepObjective<KtoBatch> {
  return {
    lossSum: (batch, opts) => {
      const reference = Float32Array.from(batch.indices.map((i) => ctx.ref.completions[i]!))
      // the policy's KL log-probabilities are read on the host: z₀ carries no gradient (TRL: torch.no_grad)
      const kl = batch.kl ? klEstimate(hostLogps(ctx.model, ctx.adapter, batch.kl, opts), batch.indices.map((i) => ctx.ref.kl[i]!)) : 0
      const logps = sequenceLogps(ctx.model, ctx.adapter, batch, opts).answer
      const { losses, metrics } = ktoLoss(ctx.options, logps, reference, batch.desirable, kl)
      const loss: tf.Scalar = losses.sum()
      return { loss, metrics }
    },
    units: (batch) => batch.examples,
    tokens: (batch) => [batch, ...(batch.kl ? [batch.kl] : [])].reduce((n, b) => n + b.segments.reduce((m, seg) => m + (seg >= 0 ? 1 : 0), 0), 0),
    stepMetrics: (sums) => ktoStepMetrics(sums),
  }
}
