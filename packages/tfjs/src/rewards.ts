import { join } from 'node:path'
import type { RewardsRequest } from '@tunekit/core'
import { tf } from './engine.ts'
import { loadForGeneration } from './generate-text.ts'
import { forwardHidden } from './model/decoder.ts'
import { lastTokenPositions, scoreRewards, scoreWeight } from './model/score-head.ts'

/**
 * The backend's `rewards` request: each sequence's reward under a reward model (base + the rm
 * stage's artifact, or a merged `*ForSequenceClassification` folder), one row at a time (no padding).
 */
export async function rewardsOf(request: RewardsRequest): Promise<number[]> {
  const loaded = await loadForGeneration(request.model, request.adapter, request.adapter ? join(request.adapter, 'tokenizer') : request.model)
  try {
    const weight = scoreWeight(loaded.model, loaded.adapter)
    return request.sequences.map((sequence) => {
      const n = sequence.length
      const batch = { batch: 1, seq: n, ids: Int32Array.from(sequence), positions: Int32Array.from({ length: n }, (_, t) => t), segments: new Int32Array(n) }
      const reward = tf.tidy(() => scoreRewards(forwardHidden(loaded.model, loaded.adapter, batch), lastTokenPositions(batch, request.padId), weight))
      const value = (reward.dataSync() as Float32Array)[0]!
      reward.dispose()
      return value
    })
  } finally {
    loaded.dispose()
  }
}
