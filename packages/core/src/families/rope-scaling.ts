// Rotary-embedding scaling (config.json `rope_scaling`, or transformers 5's `rope_parameters`):
// reading it, writing it back, and the inverse frequencies and cos/sin factor each type gives, as
// transformers' modeling_rope_utils computes them (float32 like torch, rounded at each step).
import { fail } from '../errors/tunekit-error.ts'

/** A scaled rotary embedding; absent from a ModelConfig for transformers' `'default'` rope. */
export type RopeScaling =
  /** Positions divided by `factor` (inv_freq / factor). */
  | { type: 'linear'; factor: number }
  /** Dynamic NTK: theta grows with the sequence once it is longer than max_position_embeddings. */
  | { type: 'dynamic'; factor: number }
  /** Llama 3.x: low frequencies divided by `factor`, high ones kept, a smooth ramp between. */
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number }
  /** YaRN: interpolated and extrapolated frequencies blended by a ramp, cos/sin scaled by `attentionFactor`. */
  | {
    type: 'yarn'
    factor: number
    originalMaxPositionEmbeddings: number
    /** cos/sin factor; from `mscale` / `mscale_all_dim` or `0.1 ln(factor) + 1` when config.json has none. */
    attentionFactor: number
    betaFast: number
    betaSlow: number
    truncate: boolean
  }

export const ropeScalingTypes = ['linear', 'dynamic', 'llama3', 'yarn'] as const

const isRopeType = (v: unknown): v is RopeScaling['type'] => typeof v === 'string' && (ropeScalingTypes as readonly string[]).includes(v)

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The scaling dict of config.json in either spelling (transformers 4 `rope_scaling`, 5 `rope_parameters`). */
function scalingDict(json: Record<string, unknown>): Record<string, unknown> | undefined {
  if (isObject(json.rope_scaling)) return json.rope_scaling
  return isObject(json.rope_parameters) ? json.rope_parameters : undefined
}

/** YaRN's default cos/sin factor (`get_mscale` in modeling_rope_utils). */
const yarnMscale = (scale: number, mscale = 1): number => (scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1)

/**
 * Reads the rope scaling of a decoder's config.json; undefined for plain rotary embeddings. An
 * unknown type is UnsupportedRopeScaling, a missing or non-numeric field BadRopeScaling.
 */
export function readRopeScaling(json: Record<string, unknown>, modelType: string): RopeScaling | undefined {
  const dict = scalingDict(json)
  if (!dict) return undefined
  const type = dict.rope_type ?? dict.type
  if (type === undefined || type === 'default') return undefined
  if (!isRopeType(type)) return fail('UnsupportedRopeScaling', { path: 'rope_scaling.rope_type', value: type }, modelType, type, ropeScalingTypes)
  const num = (key: string, fallback?: number): number => {
    const v = dict[key]
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v
    if ((v === undefined || v === null) && fallback !== undefined) return fallback
    return fail('BadRopeScaling', v === undefined ? { path: `rope_scaling.${key}` } : { path: `rope_scaling.${key}`, value: v }, type, key, v === undefined ? 'is missing' : 'is not a positive number')
  }
  const maxPositions = typeof json.max_position_embeddings === 'number' ? json.max_position_embeddings : 2048
  // transformers' standardize_rope_params: a top-level original_max_position_embeddings wins (phi-3 keeps it there)
  const original = typeof json.original_max_position_embeddings === 'number' ? json.original_max_position_embeddings : num('original_max_position_embeddings', maxPositions)
  if (type === 'linear' || type === 'dynamic') return { type, factor: num('factor') }
  if (type === 'llama3') return { type, factor: num('factor'), lowFreqFactor: num('low_freq_factor'), highFreqFactor: num('high_freq_factor'), originalMaxPositionEmbeddings: original }
  // yarn: a null factor means the ratio of the context lengths (DeepSeek-V3's form)
  const factor = num('factor', maxPositions / original)
  const mscale = typeof dict.mscale === 'number' ? dict.mscale : undefined
  const mscaleAllDim = typeof dict.mscale_all_dim === 'number' ? dict.mscale_all_dim : undefined
  const derived = mscale && mscaleAllDim ? yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim) : yarnMscale(factor)
  return {
    type,
    factor,
    originalMaxPositionEmbeddings: original,
    attentionFactor: num('attention_factor', derived),
    // `or` in transformers: 0 falls back too
    betaFast: typeof dict.beta_fast === 'number' && dict.beta_fast !== 0 ? dict.beta_fast : 32,
    betaSlow: typeof dict.beta_slow === 'number' && dict.beta_slow !== 0 ? dict.beta_slow : 1,
    truncate: dict.truncate !== false,
  }
}

/** The scaling as config.json's `rope_scaling` dict (without rope_theta), in transformers' key names. */
export function ropeScalingJson(s: RopeScaling): Record<string, unknown> {
  switch (s.type) {
    case 'linear':
    case 'dynamic':
      return { rope_type: s.type, factor: s.factor }
    case 'llama3':
      return { rope_type: s.type, factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor, original_max_position_embeddings: s.originalMaxPositionEmbeddings }
    case 'yarn':
      return {
        rope_type: s.type, factor: s.factor, original_max_position_embeddings: s.originalMaxPositionEmbeddings, attention_factor: s.attentionFactor,
        beta_fast: s.betaFast, beta_slow: s.betaSlow, truncate: s.truncate,
      }
  }
}

/** What a rotary table needs: theta, the rotary width, config.json's context length and the scaling. */
export interface RopeSettings {
  theta: number
  dim: number
  maxPositionEmbeddings: number
  scaling?: RopeScaling
}

const f = Math.fround

/** `1 / theta^(2i / dim)` in float32, as `compute_default_rope_parameters`. */
function defaultInvFreq(theta: number, dim: number): Float32Array {
  const out = new Float32Array(dim / 2)
  for (let i = 0; i < out.length; i++) out[i] = 1 / Math.pow(theta, f((2 * i) / dim))
  return out
}

function llama3InvFreq(base: Float32Array, s: Extract<RopeScaling, { type: 'llama3' }>): Float32Array {
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor
  return base.map((inv) => {
    const wavelen = f((2 * Math.PI) / inv)
    if (wavelen > lowWavelen) return f(inv / s.factor)
    if (wavelen < highWavelen) return inv
    const smooth = f((s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor))
    return f((1 - smooth) * f(inv / s.factor) + smooth * inv)
  })
}

function yarnInvFreq(theta: number, dim: number, s: Extract<RopeScaling, { type: 'yarn' }>): Float32Array {
  // the dimension at which a frequency turns `rotations` times over the original context
  const correction = (rotations: number): number => (dim * Math.log(s.originalMaxPositionEmbeddings / (rotations * 2 * Math.PI))) / (2 * Math.log(theta))
  let low = correction(s.betaFast)
  let high = correction(s.betaSlow)
  if (s.truncate) {
    low = Math.floor(low)
    high = Math.ceil(high)
  }
  low = Math.max(low, 0)
  high = Math.min(high, dim - 1)
  if (low === high) high += 0.001 // transformers' guard against a zero-width ramp
  const out = new Float32Array(dim / 2)
  for (let i = 0; i < out.length; i++) {
    const posFreq = f(Math.pow(theta, f((2 * i) / dim)))
    const extrapolation = f(1 / posFreq)
    const interpolation = f(1 / f(s.factor * posFreq))
    const ramp = f(Math.min(1, Math.max(0, f(f(i - low) / f(high - low)))))
    const keep = f(1 - ramp) // share of the extrapolated (unscaled) frequency
    out[i] = f(f(interpolation * f(1 - keep)) + f(extrapolation * keep))
  }
  return out
}

/**
 * Inverse frequencies [dim / 2] and the cos/sin factor for a batch whose longest position is
 * `seqLen - 1` (only dynamic NTK reads it: transformers recomputes theta from the batch's
 * `max(position_ids) + 1` once that passes max_position_embeddings).
 */
export function ropeFrequencies(r: RopeSettings, seqLen: number): { invFreq: Float32Array; attentionScaling: number } {
  const s = r.scaling
  if (!s) return { invFreq: defaultInvFreq(r.theta, r.dim), attentionScaling: 1 }
  switch (s.type) {
    case 'linear':
      return { invFreq: defaultInvFreq(r.theta, r.dim).map((v) => f(v / s.factor)), attentionScaling: 1 }
    case 'dynamic': {
      const len = Math.max(seqLen, r.maxPositionEmbeddings)
      const theta = r.theta * Math.pow((s.factor * len) / r.maxPositionEmbeddings - (s.factor - 1), r.dim / (r.dim - 2))
      return { invFreq: defaultInvFreq(theta, r.dim), attentionScaling: 1 }
    }
    case 'llama3':
      return { invFreq: llama3InvFreq(defaultInvFreq(r.theta, r.dim), s), attentionScaling: 1 }
    case 'yarn':
      return { invFreq: yarnInvFreq(r.theta, r.dim, s), attentionScaling: s.attentionFactor }
  }
}
