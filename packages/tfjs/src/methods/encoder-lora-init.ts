// The seeded initial LoRA matrices of an encoder on tfjs: @tunekit/hf's initialEncoderLoraTensors
// over the model's weights (the torch worker starts from the same draw).
import { initialEncoderLoraTensors, type FloatTensor } from '@tunekit/hf'
import type { EncoderModel } from '../model/encoder.ts'
import type { EncoderLoraSpec } from './encoder-lora.ts'

export function initialEncoderLora(model: EncoderModel, spec: EncoderLoraSpec, seed: number): Map<string, FloatTensor> {
  return initialEncoderLoraTensors([...model.weights].map(([name, w]) => ({ name, shape: w.shape })), spec, seed)
}
