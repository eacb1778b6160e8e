// PEFT's default LoRA init on an encoder's target linears, seeded: A ~ kaiming_uniform(a=√5),
// i.e. U(−1/√in, 1/√in) (bound = √(6 / ((1 + a²) · fan_in)) = 1/√fan_in), and B = 0, so the
// adapted model starts equal to the base. Drawn from the weights' names and shapes alone (in the
// order given: modelWeightSpecs'), so the tfjs trainer and the torch worker start from the same
// bytes. Keys as PEFT's state dict (`base_model.model.<path>.lora_A.weight`).
import { mulberry32 } from '@tunekit/core'
import type { FloatTensor } from './safetensors.ts'

export interface EncoderLoraInitSpec {
  rank: number
  /** Module names (`query`, `key`, `value`, `dense`). */
  targetModules: readonly string[]
  /** Whole modules trained beside the adapters (`qa_outputs`): no adapter on them. */
  modulesToSave: readonly string[]
}

export function initialEncoderLoraTensors(weights: ReadonlyArray<{ name: string; shape: readonly number[] }>, spec: EncoderLoraInitSpec, seed: number): Map<string, FloatTensor> {
  const rand = mulberry32(seed)
  const names = new Set(weights.map((w) => w.name))
  const initial = new Map<string, FloatTensor>()
  for (const { name, shape } of weights) {
    const path = name.replace(/\.weight$/, '')
    if (!name.endsWith('.weight') || shape.length !== 2 || !names.has(`${path}.bias`)) continue
    if (spec.modulesToSave.some((m) => path === m || path.endsWith(`.${m}`))) continue
    if (!spec.targetModules.some((m) => path === m || path.endsWith(`.${m}`))) continue
    const [out, inF] = shape as [number, number]
    const bound = 1 / Math.sqrt(inF)
    initial.set(`base_model.model.${path}.lora_A.weight`, { shape: [spec.rank, inF], data: Float32Array.from({ length: spec.rank * inF }, () => (rand() * 2 - 1) * bound) })
    initial.set(`base_model.model.${path}.lora_B.weight`, { shape: [out, spec.rank], data: new Float32Array(out * spec.rank) })
  }
  return initial
}
