// LoRA on the BERT encoder, as PEFT applies it to BertForQuestionAnswering: every linear whose
// path ends in a target name (PEFT's suffix match: `dense` is the attention output, intermediate
// and output dense of each layer) gets `y = x Wᵀ + b + scale · (x Aᵀ) Bᵀ`; `modulesToSave`
// (`qa_outputs`, which PEFT's question-answering task always saves) trains in full. Parameters are
// keyed by PEFT's state-dict names without the adapter name, as adapter_model.safetensors stores
// them: `base_model.model.<path>.lora_A.weight`, `base_model.model.qa_outputs.modules_to_save.weight`.
import type { FloatTensor } from '@tunekit/hf'
import { tf } from '../engine.ts'
import type { EncoderModel, LinearHook } from '../model/encoder.ts'
import { matMulT } from '../model/matmul.ts'
import { loraScale } from './lora-scale.ts'

export interface EncoderLoraSpec {
  rank: number
  alpha: number
  /** Module names (`query`, `key`, `value`, `dense`). */
  targetModules: readonly string[]
  /** Whole modules trained beside the adapters (`qa_outputs`). */
  modulesToSave: readonly string[]
  rsLora?: boolean
}

/** The adapter: its variables by PEFT key, in a fixed order, and the hook the forward pass calls. */
export interface EncoderLora {
  keys: string[]
  variables: tf.Variable[]
  hook: LinearHook
}

const PREFIX = 'base_model.model.'

/** The linear module paths of the model (weights with a `.bias` beside a 2-D `.weight`). */
function linearPaths(model: EncoderModel): string[] {
  return [...model.weights.keys()].filter((n) => n.endsWith('.weight') && model.weights.get(n)!.rank === 2 && model.weights.has(n.replace(/\.weight$/, '.bias'))).map((n) => n.slice(0, -'.weight'.length))
}

/**
 * Builds the adapter from `initial` (PEFT-keyed A and B matrices, e.g. PEFT's own init or a
 * checkpoint); a saved module starts as a copy of the base module and replaces it in `model.weights`.
 */
export function createEncoderLora(model: EncoderModel, spec: EncoderLoraSpec, initial: ReadonlyMap<string, FloatTensor>): EncoderLora {
  const keys: string[] = []
  const variables: tf.Variable[] = []
  const pairs = new Map<string, { a: tf.Variable; b: tf.Variable }>()
  const add = (key: string, v: tf.Variable) => {
    keys.push(key)
    variables.push(v)
    return v
  }
  const matrix = (key: string, shape: [number, number]): tf.Variable => {
    const init = initial.get(key)
    if (!init) throw new Error(`the initial adapter has no ${key}`)
    return add(key, tf.variable(tf.tensor2d(init.data, shape)))
  }
  for (const path of linearPaths(model)) {
    if (spec.modulesToSave.some((m) => path === m || path.endsWith(`.${m}`))) continue
    if (!spec.targetModules.some((m) => path === m || path.endsWith(`.${m}`))) continue
    const [out, inF] = model.weights.get(`${path}.weight`)!.shape as [number, number]
    pairs.set(path, { a: matrix(`${PREFIX}${path}.lora_A.weight`, [spec.rank, inF]), b: matrix(`${PREFIX}${path}.lora_B.weight`, [out, spec.rank]) })
  }
  for (const m of spec.modulesToSave) {
    for (const suffix of ['weight', 'bias']) {
      const name = `${m}.${suffix}`
      const base = model.weights.get(name)
      if (!base) throw new Error(`the bert model has no module ${JSON.stringify(m)} to save`)
      const v = add(`${PREFIX}${m}.modules_to_save.${suffix}`, tf.variable(base, true))
      base.dispose()
      model.weights.set(name, v)
    }
  }
  const scale = loraScale({ alpha: spec.alpha, rank: spec.rank, rsLora: spec.rsLora ?? false })
  const hook: LinearHook = (path, x, base) => {
    const pair = pairs.get(path)
    if (!pair) return base(x)
    return tf.tidy(() => tf.add(base(x), tf.mul(matMulT(matMulT(x, pair.a as tf.Variable<tf.Rank.R2>), pair.b as tf.Variable<tf.Rank.R2>), scale)) as tf.Tensor2D)
  }
  return { keys, variables, hook }
}
