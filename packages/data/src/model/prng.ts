// The one seeded random number generator of @tunekit/data/model. Every random weight tunekit
// creates (random models, initial LoRA matrices) comes from here, so both backends and every
// machine start from the same bytes.
//
// Generator: xoshiro128** (Blackman & Vigna, 2018; https://prng.di.unimi.it/xoshiro128starstar.c),
// seeded through splitmix32. It uses only 32-bit integer operations (`Math.imul`, shifts), which are
// exact in every JavaScript engine. Uniform floats take the top 24 bits, so they are exact in
// float32. Normals use Box-Muller; `Math.log`, `Math.cos` and `Math.sqrt` in V8 are fdlibm ports,
// identical on every platform Node runs on.

/** A stream of random numbers; `state` can be saved and restored (checkpoints). */
export interface Rng {
  /** Next 32-bit unsigned integer. */
  nextU32(): number
  /** Next float in [0, 1) with 24 random bits (exact in float32). */
  uniform(): number
  /** Next draw of N(0, 1) (Box-Muller; the second value of each pair is used too). */
  normal(): number
  /** The four 32-bit state words plus the cached normal, for checkpoints. */
  state(): RngState
}

/** Saved state of an {@link Rng}: JSON-serialisable. */
export interface RngState {
  s: [number, number, number, number]
  /** The spare Box-Muller value, or null. */
  spare: number | null
}

// splitmix32: spreads a small seed over the 128-bit state (never all zero).
function splitmix32(seed: number): () => number {
  let x = seed >>> 0
  return () => {
    x = (x + 0x9e3779b9) >>> 0
    let z = x
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** 32-bit FNV-1a hash of a string (UTF-16 code units), to derive per-tensor seeds from names. */
export function hashString(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/**
 * Creates a generator. `seed` is a non-negative integer; `stream` (e.g. a tensor name) selects an
 * independent stream for the same seed, so one tensor's values do not depend on the others.
 */
export function createRng(seed: number, stream = ''): Rng {
  const mix = splitmix32((seed >>> 0) ^ Math.imul(hashString(stream), 0x27d4eb2d) ^ Math.floor(seed / 2 ** 32))
  return restoreRng({ s: [mix(), mix(), mix(), mix()], spare: null })
}

/** Recreates a generator from a saved {@link RngState}. */
export function restoreRng(saved: RngState): Rng {
  let [a, b, c, d] = saved.s.map((v) => v >>> 0) as [number, number, number, number]
  if ((a | b | c | d) === 0) a = 1 // the all-zero state is a fixed point
  let spare: number | null = saved.spare

  const nextU32 = (): number => {
    // result = rotl(b * 5, 7) * 9
    const t = Math.imul(b, 5)
    const result = Math.imul((t << 7) | (t >>> 25), 9) >>> 0
    const shifted = (b << 9) >>> 0
    c = (c ^ a) >>> 0
    d = (d ^ b) >>> 0
    b = (b ^ c) >>> 0
    a = (a ^ d) >>> 0
    c = (c ^ shifted) >>> 0
    d = ((d << 11) | (d >>> 21)) >>> 0
    return result
  }
  const uniform = (): number => (nextU32() >>> 8) / 16777216 // 2^24
  const normal = (): number => {
    if (spare !== null) {
      const v = spare
      spare = null
      return v
    }
    // Box-Muller: u1 in (0, 1] so log never sees 0.
    const u1 = 1 - uniform()
    const u2 = uniform()
    const radius = Math.sqrt(-2 * Math.log(u1))
    const angle = 2 * Math.PI * u2
    spare = radius * Math.sin(angle)
    return radius * Math.cos(angle)
  }
  return { nextU32, uniform, normal, state: () => ({ s: [a, b, c, d], spare }) }
}

/** Fills `out` with N(mean, std) draws rounded to float32. */
export function fillNormal(rng: Rng, out: Float32Array, mean: number, std: number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = mean + std * rng.normal()
  return out
}

/** Fills `out` with uniform draws in [-bound, bound). */
export function fillUniform(rng: Rng, out: Float32Array, bound: number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.uniform() - 1) * bound
  return out
}
