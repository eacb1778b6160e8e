import { warmStartReads } from '../graph/warm-start.ts'
import type { Recipe } from '../define.ts'
import { trainNode, type MethodParams } from '../nodes/train.ts'
import { addSourceNodes } from './data-nodes.ts'
import { defineStage } from './stage.ts'

/** The head transformers' `*ForSequenceClassification` reads the reward from (PEFT's SEQ_CLS saves it in full). */
export const SCORE_MODULE = 'score'

/**
 * The train node's method for a reward model: with LoRA the head `score` is trained in full and
 * saved with the adapter, as PEFT's `task_type: SEQ_CLS` puts it in `modules_to_save`.
 */
function rewardMethod(recipe: Recipe): MethodParams {
  // the recipe's resolved options are deeply readonly; the node's params are plain data
  const method = trainNode.params(recipe).method as MethodParams
  if (method.kind !== 'lora' || method.modulesToSave.includes(SCORE_MODULE)) return method
  return { ...method, modulesToSave: [...method.modulesToSave, SCORE_MODULE] }
}

/**
 * Reward modelling (TRL's RewardTrainer): preference pairs → tokens with the prompt stored once
 * (tokenize's `render: { kind: 'preference' }`) → train, a scalar head on the decoder read at each
 * sequence's last token, loss −log σ(r_chosen − r_rejected). No reference model, so no
 * ref-logprobs node. After training only `merge` applies (the merged folder is an
 * `AutoModelForSequenceClassification`): a reward model generates no samples and no GGUF.
 */
export const rmStage = defineStage({
  kind: 'rm',
  summary: 'preference pairs (prompt, chosen, rejected) → a scalar head `score`, pairwise loss −log σ(r_chosen − r_rejected); merged as ForSequenceClassification',
  ownOutputs: true,
  build: async (b, recipe) => {
    const { data } = recipe
    await addSourceNodes(b, recipe)
    if (data.template === undefined) throw new Error('rm: a recipe reached compile without data.template (parseRecipe fills it from the stage)')
    const render = { kind: 'preference' as const, template: data.template, maxPromptLength: data.maxPromptLength }
    await b.add('tokenize', ['format', 'model'], { extra: { render } })
    const stage = recipe.stage.kind === 'rm' ? recipe.stage : undefined
    const trained = await b.add('train', ['model', 'tokenize'], { extra: { ...(stage ? { objective: stage } : {}), method: rewardMethod(recipe) }, reads: warmStartReads(recipe, b.options) })
    if (recipe.output.merge) await b.add('merge', ['model', trained, 'tokenize'])
    return trained
  },
})
