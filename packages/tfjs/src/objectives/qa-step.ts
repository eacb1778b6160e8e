// One training step of a BERT QA model on tfjs, as transformers' Trainer takes it: loss
// (qa-loss.ts) → gradients of the trained tensors (every weight for full fine-tuning; LoRA's A, B
// and saved modules) → global-norm clipping → AdamW (optimizer.ts, torch's update; no decay on
// biases and LayerNorm weights). Dropout is off.
import type { FloatTensor } from '@tunekit/hf'
import { tf } from '../engine.ts'
import type { EncoderModel, LinearHook } from '../model/encoder.ts'
import { qaLogits } from '../model/encoder.ts'
import { createEncoderLora, type EncoderLoraSpec } from '../methods/encoder-lora.ts'
import { clipGlobalNorm, createOptimizer, optimizerStep, type OptimizerSettings, type OptimizerState } from '../train/optimizer.ts'
import type { QaTrainBatch } from './qa-batch.ts'
import { qaLoss } from './qa-loss.ts'

/** What trains (variables by name: state-dict names, or PEFT keys for LoRA), the forward hook, the optimizer. */
export interface QaTrainer {
  model: EncoderModel
  names: string[]
  variables: tf.Variable[]
  hook?: LinearHook
  optimizer: OptimizerState
}

/** Turns every weight of `model` into a variable (the model then reads the variables) and makes the optimizer. */
export function fullQaTrainer(model: EncoderModel, settings: OptimizerSettings): QaTrainer {
  const names = [...model.weights.keys()]
  const variables = names.map((name) => {
    const v = tf.variable(model.weights.get(name)!, true, `qa/${name}`)
    model.weights.get(name)!.dispose()
    model.weights.set(name, v)
    return v
  })
  return { model, names, variables, optimizer: createOptimizer(settings, variables, names) }
}

/** LoRA (methods/encoder-lora.ts) from PEFT-keyed initial matrices; the base weights stay frozen. */
export function loraQaTrainer(model: EncoderModel, spec: EncoderLoraSpec, initial: ReadonlyMap<string, FloatTensor>, settings: OptimizerSettings): QaTrainer {
  const lora = createEncoderLora(model, spec, initial)
  return { model, names: lora.keys, variables: lora.variables, hook: lora.hook, optimizer: createOptimizer(settings, lora.variables, lora.keys) }
}

/** One step on one batch; returns the loss before the update and the gradient norm before clipping. */
export function qaTrainStep(t: QaTrainer, batch: QaTrainBatch, lr: number, maxGradNorm: number): { loss: number; gradNorm: number } {
  const { value, grads } = tf.variableGrads(() => qaLoss(qaLogits(t.model, batch, t.hook), batch.starts, batch.ends), t.variables)
  const list = t.variables.map((v) => grads[v.name]!)
  const gradNorm = clipGlobalNorm(list, maxGradNorm)
  optimizerStep(t.optimizer, t.variables, list, lr)
  const loss = value.dataSync()[0]!
  tf.dispose([value, ...list])
  return { loss, gradNorm }
}
