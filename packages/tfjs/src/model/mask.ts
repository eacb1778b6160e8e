/** Large negative added to masked attention scores (exp underflows to exactly 0). */
export const MASKED = -1e9

/**
 * Additive attention mask `[batch, 1, seq, seq]`: query i sees key j when both are in the same
 * segment, j ≤ i, and (with Mistral's sliding window) i - j < window.
 */
export function causalSegmentMask(batch: number, seq: number, segments: Int32Array, slidingWindow: number | null): Float32Array {
  const mask = new Float32Array(batch * seq * seq)
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < seq; i++) {
      const row = (b * seq + i) * seq
      const seg = segments[b * seq + i]
      for (let j = 0; j < seq; j++) {
        const visible = j <= i && segments[b * seq + j] === seg && (slidingWindow === null || i - j < slidingWindow)
        if (!visible) mask[row + j] = MASKED
      }
    }
  }
  return mask
}

/** Mask `[1, 1, newTokens, past + newTokens]` for decoding with a KV cache (one sequence). */
export function decodeMask(past: number, fresh: number, slidingWindow: number | null): Float32Array {
  const total = past + fresh
  const mask = new Float32Array(fresh * total)
  for (let i = 0; i < fresh; i++) {
    const q = past + i
    for (let j = 0; j < total; j++) {
      if (j > q || (slidingWindow !== null && q - j >= slidingWindow)) mask[i * total + j] = MASKED
    }
  }
  return mask
}
