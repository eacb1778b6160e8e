import { mulberry32 } from '@tunekit/core'

/**
 * Seeded pseudo-random numbers for data order. The same seed gives the same split and batch order on
 * every machine and in every backend. (The seed is mixed with the golden ratio first, as it always
 * has been: cached splits and batch plans stay valid.)
 */
export function rng(seed: number): () => number {
  return mulberry32(seed ^ 0x9e3779b9)
}

/** Fisher–Yates shuffle of `0..n-1` with a seeded generator. */
export function permutation(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i)
  const next = rng(seed)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    const t = order[i]!
    order[i] = order[j]!
    order[j] = t
  }
  return order
}
