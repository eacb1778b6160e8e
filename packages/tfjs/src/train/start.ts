// The start of every tfjs train node (SFT/pretrain in backend.ts, the preference stages in
// objectives/dpo-nodes.ts): the engine, the model and tokenize inputs, the tokenizer; then the
// model loaded, the newest checkpoint of this node's key, and what trains (the method's state).
import { fail, inputOfKind, nodeParams, readTrainableTokenIds, resolveModelDir, type NodeContext, type TrainParams } from '@tunekit/core'
import { loadTokenizer } from '@tunekit/data'
import { adapterBaseModel, readLatestCheckpoint } from '@tunekit/hf'
import { join } from 'node:path'
import { selectEngine } from '../engine.ts'
import { setupMethod } from '../methods/index.ts'
import { loadModel } from '../model/load.ts'
import { quantizeOptions } from '../quantize-options.ts'

/** The train node's params, its engine (logged), the base model's folder and the tokenize artifact's tokenizer. */
export async function openTrainNode(ctx: NodeContext) {
  const p = nodeParams('train', ctx.node)
  // checkRecipe says it when the recipe names tfjs; `backend: 'auto'` resolves here
  if (p.args.optimizer === 'galore_adamw') fail('GaloreBackend', { path: 'args.optimizer', value: p.args.optimizer })
  const engine = await selectEngine(p.device)
  ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `tfjs engine: ${engine.engine} (${engine.reason})` })
  const modelDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const tokenizeDir = inputOfKind(ctx, 'tokenize')
  const tokenizerDir = join(tokenizeDir, 'tokenizer')
  const tok = await loadTokenizer(tokenizerDir)
  return { p, modelDir, tokenizeDir, tokenizerDir, tok }
}

/**
 * The model (vocabulary grown for added tokens), the newest checkpoint written under this node's
 * key (another key's is ignored), and the method's trainable state resumed from it, with the
 * artifact's description.
 */
export async function startTraining(ctx: NodeContext, o: { p: TrainParams; modelDir: string; tokenizeDir: string; vocabSize: number }) {
  const { p, modelDir } = o
  const model = await loadModel(modelDir, { quantize: quantizeOptions(p.model.quantize), vocabSize: o.vocabSize })
  const latest = await readLatestCheckpoint(ctx.workDir)
  const resume = latest && latest.trainerState.recipeKey === ctx.node.key ? latest : undefined
  // The method's file (methods/<kind>.ts) builds what trains: LoRA's seeded adapter, or trainable copies of base tensors.
  const { state: adapter, trained } = await setupMethod({ model, method: p.method, modelDir, trainableTokenIds: await readTrainableTokenIds(o.tokenizeDir), seed: p.args.seed, baseDir: ctx.baseDir, tokenizeDir: o.tokenizeDir, resumed: resume?.adapter.tensors })
  const artifact = { method: trained, family: p.model.family, ...adapterBaseModel(p.model, modelDir) }
  return { model, resume, adapter, artifact }
}
