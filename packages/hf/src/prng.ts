// The one seeded random number generator of @tunekit/hf. Every random weight tunekit
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
  /** Fills `out` with N(mean, std): the same values as `mean + std * normal()` in a loop, faster. */
  fillNormal(out: Float32Array, mean: number, std: number): Float32Array
  /** Fills `out` with uniform draws in [-bound, bound): `(2 * uniform() - 1) * bound` in a loop. */
  fillUniform(out: Float32Array, bound: number): Float32Array
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
  // State in a typed array: hot loops copy it into locals (fast) and write it back.
  const st = Uint32Array.from(saved.s)
  if ((st[0]! | st[1]! | st[2]! | st[3]!) === 0) st[0] = 1 // the all-zero state is a fixed point
  let spare: number | null = saved.spare

  // Fills `out[i] = f(u32)` for n draws, with the xoshiro128** step inlined.
  const draw = (n: number, sink: (i: number, x: number) => void): void => {
    let a = st[0]!, b = st[1]!, c = st[2]!, d = st[3]!
    for (let i = 0; i < n; i++) {
      // result = rotl(b * 5, 7) * 9
      const t = Math.imul(b, 5)
      const result = Math.imul((t << 7) | (t >>> 25), 9) >>> 0
      const shifted = b << 9
      c ^= a
      d ^= b
      b ^= c
      a ^= d
      c ^= shifted
      d = (d << 11) | (d >>> 21)
      sink(i, result)
    }
    st[0] = a
    st[1] = b
    st[2] = c
    st[3] = d
  }
  let last = 0
  const keep = (_i: number, x: number): void => {
    last = x
  }
  const nextU32 = (): number => {
    draw(1, keep)
    return last
  }
  // 24 random bits: exact in float32.
  const toUnit = (x: number): number => (x >>> 8) / 16777216
  const uniform = (): number => toUnit(nextU32())
  // Box-Muller on (u1, u2), u1 in (0, 1] so log never sees 0; gives cos and sin values.
  const boxMuller = (u1: number, u2: number): [number, number] => {
    const radius = Math.sqrt(-2 * Math.log(u1))
    const angle = 2 * Math.PI * u2
    return [radius * Math.cos(angle), radius * Math.sin(angle)]
  }
  const normal = (): number => {
    if (spare !== null) {
      const v = spare
      spare = null
      return v
    }
    const u1 = 1 - uniform()
    const u2 = uniform()
    const [z0, z1] = boxMuller(u1, u2)
    spare = z1
    return z0
  }
  const fillNormal = (out: Float32Array, mean: number, std: number): Float32Array => {
    // Same sequence as calling normal() out.length times, with the generator and Box-Muller inlined.
    let i = 0
    if (spare !== null && out.length > 0) {
      out[i++] = mean + std * spare
      spare = null
    }
    let a = st[0]!, b = st[1]!, c = st[2]!, d = st[3]!
    const n = out.length
    while (i < n) {
      let t = Math.imul(b, 5)
      const x1 = Math.imul((t << 7) | (t >>> 25), 9) >>> 0
      let shifted = b << 9
      c ^= a; d ^= b; b ^= c; a ^= d; c ^= shifted; d = (d << 11) | (d >>> 21)
      t = Math.imul(b, 5)
      const x2 = Math.imul((t << 7) | (t >>> 25), 9) >>> 0
      shifted = b << 9
      c ^= a; d ^= b; b ^= c; a ^= d; c ^= shifted; d = (d << 11) | (d >>> 21)
      const u1 = 1 - (x1 >>> 8) / 16777216
      const u2 = (x2 >>> 8) / 16777216
      const radius = Math.sqrt(-2 * Math.log(u1))
      const angle = 2 * Math.PI * u2
      out[i++] = mean + std * (radius * Math.cos(angle))
      const z1 = radius * Math.sin(angle)
      if (i < n) out[i++] = mean + std * z1
      else spare = z1
    }
    st[0] = a
    st[1] = b
    st[2] = c
    st[3] = d
    return out
  }
  const fillUniform = (out: Float32Array, bound: number): Float32Array => {
    draw(out.length, (k, x) => {
      out[k] = (2 * toUnit(x) - 1) * bound
    })
    return out
  }
  return { nextU32, uniform, normal, fillNormal, fillUniform, state: () => ({ s: [st[0]!, st[1]!, st[2]!, st[3]!], spare }) }
}

/** Fills `out` with N(mean, std) draws rounded to float32 (the same values as `rng.normal()` in a loop). */
export function fillNormal(rng: Rng, out: Float32Array, mean: number, std: number): Float32Array {
  return rng.fillNormal(out, mean, std)
}

/** Fills `out` with uniform draws in [-bound, bound). */
export function fillUniform(rng: Rng, out: Float32Array, bound: number): Float32Array {
  return rng.fillUniform(out, bound)
}
