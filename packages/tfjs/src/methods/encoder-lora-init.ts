// PEFT's default LoRA init on the encoder's target linears, seeded: A ~ kaiming_uniform(a=√5),
// i.e. U(−1/√in, 1/√in) (bound = √(6 / ((1 + a²) · fan_in)) = 1/√fan_in), and B = 0, so the
// adapted model starts equal to the base. Keys as PEFT's state dict (`base_model.model.<path>.lora_A.weight`).
import { mulberry32 } from '@tunekit/core'
import type { FloatTensor } from '@tunekit/hf'
import type { EncoderModel } from '../model/encoder.ts'
import type { EncoderLoraSpec } from './encoder-lora.ts'

export function initialEncoderLora(model: EncoderModel, spec: EncoderLoraSpec, seed: number): Map<string, FloatTensor> {
  const rand = mulberry32(seed)
  const initial = new Map<string, FloatTensor>()
  for (const [name, w] of model.weights) {
    const path = name.replace(/\.weight$/, '')
    if (!name.endsWith('.weight') || w.rank !== 2 || !model.weights.has(`${path}.bias`)) continue
    if (spec.modulesToSave.some((m) => path === m || path.endsWith(`.${m}`))) continue
    if (!spec.targetModules.some((m) => path === m || path.endsWith(`.${m}`))) continue
    const [out, inF] = w.shape as [number, number]
    const bound = 1 / Math.sqrt(inF)
    initial.set(`base_model.model.${path}.lora_A.weight`, { shape: [spec.rank, inF], data: Float32Array.from({ length: spec.rank * inF }, () => (rand() * 2 - 1) * bound) })
    initial.set(`base_model.model.${path}.lora_B.weight`, { shape: [out, spec.rank], data: new Float32Array(out * spec.rank) })
  }
  return initial
}
