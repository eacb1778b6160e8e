// PiSSA (Meng et al., 2024): LoRA started from the principal singular vectors of each adapted
// weight, the base replaced by the residual. PEFT's LoraLayer.pissa_init (peft/tuners/lora/layer.py):
//   V, S, Uh = svd(W)                       W [out, in]
//   Sr = S[:r] / scale
//   A = diag(√Sr) · Uh[:r]                  [r, in]
//   B = V[:, :r] · diag(√Sr)                [out, r]
//   W_res = W − scale · B·A                 (float32), so W_res + scale·B·A = W at step 0
// The trained adapter only fits W_res, so it is written converted (PEFT's save_pretrained with
// path_initial_model_for_weight_conversion, LoraModel.subtract_mutated_init):
//   ΔW = scale·(B·A − B0·A0) = scale·[B | −B0]·[A ; A0]
// a plain LoRA of rank 2r on the unmodified base, with alpha doubled (×√2 with rsLoRA) so the
// scale is unchanged and init_lora_weights true: PEFT loads it as-is and merge is LoRA's.
import type { FloatTensor } from '../safetensors.ts'
import type { TrainArtifact } from './types.ts'
import { svd } from '../svd.ts'
import { loraScale, type LoraSpec } from './lora-keys.ts'

/** Whether the spec starts from the base weights' singular vectors (PiSSA), whose artifact is converted. */
export const isPissa = (spec: Pick<LoraSpec, 'initLoraWeights'>): boolean => spec.initLoraWeights?.startsWith('pissa') === true

/**
 * PiSSA's A [r, in] and B [out, r] of one weight W [out, in]; tfjs computes the exact SVD for
 * `pissa_niter_N` too (torch's svd_lowrank is randomised and approximate).
 */
export function pissaStart(w: FloatTensor, spec: Pick<LoraSpec, 'alpha' | 'rank' | 'rsLora'>): { a: FloatTensor; b: FloatTensor } {
  const [out, inF] = w.shape as [number, number]
  const r = spec.rank
  if (r > Math.min(out, inF)) throw new Error(`PiSSA rank ${r} exceeds the ${out} × ${inF} weight's rank`)
  const scale = loraScale(spec)
  const f = svd(w.data, out, inF)
  const a = new Float32Array(r * inF)
  const b = new Float32Array(out * r)
  for (let k = 0; k < r; k++) {
    const root = Math.sqrt(f.s[k]! / scale)
    for (let i = 0; i < inF; i++) a[k * inF + i] = root * f.vt[k * inF + i]!
    for (let o = 0; o < out; o++) b[o * r + k] = f.u[o * f.k + k]! * root
  }
  return { a: { shape: [r, inF], data: a }, b: { shape: [out, r], data: b } }
}

/** W_res = W − scale·B·A [out, in], summed in float64 and stored as float32. */
export function pissaResidual(w: FloatTensor, a: FloatTensor, b: FloatTensor, scale: number): FloatTensor {
  const [out, inF] = w.shape as [number, number]
  const r = a.shape[0]!
  const res = new Float32Array(out * inF)
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      let ba = 0
      for (let k = 0; k < r; k++) ba += b.data[o * r + k]! * a.data[k * inF + i]!
      res[o * inF + i] = w.data[o * inF + i]! - scale * ba
    }
  }
  return { shape: [out, inF], data: res }
}

/** The converted spec: rank 2r, the same scale, PEFT's default init (what adapter_config.json says). */
export function pissaConvertedSpec(spec: LoraSpec): LoraSpec {
  const { initLoraWeights: _pissa, ...rest } = spec
  return { ...rest, rank: 2 * spec.rank, alpha: spec.rsLora ? spec.alpha * Math.SQRT2 : 2 * spec.alpha }
}

/**
 * The trained PiSSA tensors as a plain LoRA of the original base: A' = [A ; A0] [2r, in],
 * B' = [B | −B0] [out, 2r]; every other tensor (saved modules, token rows) as trained. `initial`
 * holds A0 and B0 under the same keys.
 */
export function pissaToLora(trained: ReadonlyMap<string, FloatTensor>, initial: ReadonlyMap<string, FloatTensor>): Map<string, FloatTensor> {
  const out = new Map<string, FloatTensor>()
  for (const [key, t] of trained) {
    const start = initial.get(key)
    const isA = key.endsWith('.lora_A.weight')
    if (!isA && !key.endsWith('.lora_B.weight')) {
      out.set(key, t)
      continue
    }
    if (!start) throw new Error(`pissaToLora: no initial value for ${key}`)
    const [rows, cols] = t.shape as [number, number]
    if (isA) {
      const data = new Float32Array(2 * rows * cols)
      data.set(t.data)
      data.set(start.data, rows * cols)
      out.set(key, { shape: [2 * rows, cols], data })
    } else {
      const data = new Float32Array(rows * 2 * cols)
      for (let o = 0; o < rows; o++) {
        for (let k = 0; k < cols; k++) {
          data[o * 2 * cols + k] = t.data[o * cols + k]!
          data[o * 2 * cols + cols + k] = -start.data[o * cols + k]!
        }
      }
      out.set(key, { shape: [rows, 2 * cols], data })
    }
  }
  return out
}

/** A PiSSA train artifact as written: tensors and spec converted (`initial`: A0 and B0 by PEFT key); any other artifact as it is. */
export function convertedArtifact(artifact: TrainArtifact, initial: ReadonlyMap<string, FloatTensor> | undefined): TrainArtifact {
  if (artifact.method.kind !== 'lora' || !isPissa(artifact.method.spec)) return artifact
  if (!initial) throw new Error('a PiSSA artifact needs its initial A and B to be converted')
  return { ...artifact, method: { ...artifact.method, spec: pissaConvertedSpec(artifact.method.spec) }, tensors: pissaToLora(artifact.tensors, initial) }
}
