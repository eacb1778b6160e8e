import { warmStartReads } from '../graph/warm-start.ts'
import { defineStage } from './stage.ts'
import { addDataNodes } from './data-nodes.ts'

/**
 * Continued pretraining (LLaMA-Factory's `pt`): raw documents (`data.format: 'text'`) → tokens with
 * eos appended to each document and every token a label (tokenize's `render: { kind: 'text' }`) →
 * packed rows (data.packing defaults to true) → train. The same nodes as sft, other params.
 */
export const pretrainStage = defineStage({
  kind: 'pretrain',
  summary: "raw text (data.format 'text'), eos per document, every token trained, packed by default",
  build: async (b, recipe) => {
    await addDataNodes(b, recipe)
    return b.add('train', ['model', 'tokenize', 'split', 'collate'], { reads: warmStartReads(recipe, b.options) })
  },
})
