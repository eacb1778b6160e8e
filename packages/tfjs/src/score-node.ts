import { findInputOfKind, inputOfKind, nodeParams, resolveModelDir, type NodeExecutor } from '@tunekit/core'
import { heldOutExamples, referenceTurn } from '@tunekit/data'
import { writeScore } from '@tunekit/eval'
import { readTrainArtifact } from '@tunekit/hf'
import { selectEngine } from './engine.ts'
import { generateText } from './generate-text.ts'
import { loadTrained } from './methods/index.ts'
import { disposeAdapter } from './methods/state.ts'
import { disposeModel, loadModel } from './model/load.ts'
import { quantizeOptions } from './quantize-options.ts'

/**
 * The `score` node: the model answers each held-out prompt (the conversation up to its last
 * assistant turn, rendered as in training) and `@tunekit/eval` scores the answers against those
 * turns. The trained model is the merged one when there is one, else the base (loaded as training
 * loaded it, quantised or not) plus the train artifact; `model: 'base'` answers with the base
 * weights alone. Greedy unless `doSample`. The trained tokenizer encodes and decodes for both.
 */
export const scoreExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('score', ctx.node)
  await selectEngine(p.device)
  const { examples, tokenizer } = await heldOutExamples(ctx, p.examples)
  const merged = findInputOfKind(ctx, 'merge')
  const trainDir = p.model === 'trained' && !merged ? inputOfKind(ctx, 'train') : undefined
  const modelDir = merged ?? (await resolveModelDir(inputOfKind(ctx, 'model')))
  // Added tokens (ChatML's) grow the base's embeddings by mean rows, as training did.
  const model = await loadModel(modelDir, { quantize: merged ? undefined : quantizeOptions(p.quantize), vocabSize: tokenizer.vocabSize })
  const adapter = trainDir ? loadTrained(model, await readTrainArtifact(trainDir)) : undefined
  const answers: string[] = []
  try {
    for (const [i, example] of examples.entries()) {
      const sampling = p.doSample ? { temperature: p.temperature, topP: p.topP, seed: p.seed + i } : {}
      answers.push(generateText({ model, adapter, tokenizer, dispose: () => {} }, example.ids, { maxNewTokens: p.maxNewTokens, ...sampling }))
      ctx.emit({ type: 'node-progress', node: ctx.node.id, done: i + 1, total: examples.length, unit: 'answers' })
    }
  } finally {
    if (adapter) disposeAdapter(adapter)
    disposeModel(model)
  }
  await writeScore(ctx, p, examples.map((e) => ({ id: e.id, reference: referenceTurn(e.reference) })), answers)
}
