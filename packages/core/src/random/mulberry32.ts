/**
 * mulberry32 (Tommy Ettinger, 2017): a small, fast PRNG over one 32-bit state, for choices and
 * orders — data splits, batch order, generated demo data sets. Integer operations only
 * (`Math.imul`, shifts), so the same state gives the same sequence in every JavaScript engine.
 * Random weights use @tunekit/hf's xoshiro128** instead (128-bit state, normals, saved in checkpoints).
 *
 * Returns a function of floats in [0, 1) (32 random bits).
 */
export function mulberry32(state: number): () => number {
  let a = state >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
