import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { inputOfKind, nodeParams, resolveModelDir, writeJsonAtomic, type EvalReport, type NodeExecutor } from '@tunekit/core'
import { loadTokenizer, materializeBatch, readShards, type BatchPlan } from '@tunekit/data'
import { readTrainArtifact } from '@tunekit/hf'
import { selectEngine } from './engine.ts'
import { loadTrained } from './methods/index.ts'
import { disposeAdapter } from './methods/state.ts'
import { disposeModel, loadModel } from './model/load.ts'
import { quantizeOptions } from './quantize-options.ts'
import { toTrainBatch } from './train/batch.ts'
import { evalLoss } from './train/loop.ts'

/**
 * The `eval` node: the trained model's loss on the eval set, the mean token cross-entropy over
 * every labelled token of the batch plan's eval micro-batches (the same batches and sum the
 * training loop's evals use), over the base loaded as training loaded it (quantised or not), and
 * its perplexity exp(loss). Writes `eval.json` and emits an `eval` event.
 */
export const evalExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('eval', ctx.node)
  await selectEngine(p.device)
  const trainDir = inputOfKind(ctx, 'train')
  const tok = await loadTokenizer(join(inputOfKind(ctx, 'tokenize'), 'tokenizer'))
  const model = await loadModel(await resolveModelDir(inputOfKind(ctx, 'model')), { quantize: quantizeOptions(p.quantize), vocabSize: tok.vocabSize })
  // Any method's artifact: LoRA's adapter, or full / freeze's trained tensors in place of the base's.
  const adapter = loadTrained(model, await readTrainArtifact(trainDir))
  try {
    const plan = JSON.parse(await readFile(join(inputOfKind(ctx, 'collate'), 'plan.json'), 'utf8')) as BatchPlan
    const shards = await readShards(join(inputOfKind(ctx, 'split'), 'eval'))
    const batches = plan.eval.microBatches.map((b) => toTrainBatch(materializeBatch(shards, b)))
    const tokens = batches.reduce((n, b) => n + b.trained, 0)
    const loss = evalLoss(model, adapter, batches)
    const report: EvalReport = { loss, perplexity: Math.exp(loss), tokens, samples: shards.index.count }
    const state = JSON.parse(await readFile(join(trainDir, 'trainer_state.json'), 'utf8')) as { step: number; epoch: number }
    await writeJsonAtomic(join(ctx.outDir, 'eval.json'), report)
    ctx.emit({ type: 'eval', node: ctx.node.id, step: state.step, epoch: state.epoch, loss, perplexity: report.perplexity, tokens })
  } finally {
    disposeAdapter(adapter)
    disposeModel(model)
  }
}
