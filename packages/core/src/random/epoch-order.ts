import { mulberry32 } from './mulberry32.ts'

/**
 * Window order of one epoch of the qa stage: a seeded Fisher–Yates shuffle (seed · 1000003 +
 * epoch), the identity without shuffling. Both backends draw it from here, so they train on the
 * same batches in the same order, and a resumed run replays it.
 */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): number[] {
  const order = Array.from({ length: n }, (_, i) => i)
  if (!shuffle) return order
  const rand = mulberry32(seed * 1000003 + epoch)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}
