import { warmStartReads } from '../graph/warm-start.ts'
import { defineStage } from './stage.ts'
import { addDataNodes } from './data-nodes.ts'

/** Supervised fine-tuning: conversations → chat-template tokens with a turn mask → train. */
export const sftStage = defineStage({
  kind: 'sft',
  summary: 'conversations rendered by data.template, loss on the turns data.mask picks',
  build: async (b, recipe) => {
    await addDataNodes(b, recipe)
    return b.add('train', ['model', 'tokenize', 'split', 'collate'], { reads: warmStartReads(recipe, b.options) })
  },
})
