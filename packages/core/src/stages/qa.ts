import { modelReadPaths, sourceReadPaths } from '../graph/reads.ts'
import { hasEvalSet } from '../graph/outputs.ts'
import { defineStage } from './stage.ts'

/**
 * Extractive QA (transformers' run_qa.py): SQuAD records → windows of `data.maxLength` tokens
 * overlapping by `docStride` with start/end labels (`qa-features`, which also holds out questions)
 * → `qa-train` (full fine-tuning or LoRA on the encoder, the model saved in transformers' layout)
 * → `qa-eval` (SQuAD EM/F1 of the base and the trained model on the held-out questions). Its
 * nodes after training are its own: the decoder outputs (eval loss, samples, GGUF) do not apply.
 */
export const qaStage = defineStage({
  kind: 'qa',
  summary: "extractive QA on an encoder: SQuAD windows (docStride), start/end loss, EM/F1 on held-out questions",
  ownOutputs: true,
  build: async (b, recipe) => {
    await b.add('model', [], { reads: modelReadPaths(recipe, b.options) })
    await b.add('source', [], { reads: sourceReadPaths(recipe.data.source, b.options) })
    await b.add('qa-features', ['source', 'model'])
    const trained = await b.add('qa-train', ['model', 'qa-features'])
    if (hasEvalSet(recipe)) await b.add('qa-eval', ['model', 'qa-features', trained])
    return trained
  },
})
