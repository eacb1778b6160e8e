import type { RmStageOptions } from '@tunekit/core'
import type { tf } from '../engine.ts'
import type { AdapterState } from '../methods/state.ts'
import type { ForwardOptions } from '../model/linear.ts'
import { forwardHidden } from '../model/decoder.ts'
import { lastTokenPositions, scoreRewards, scoreWeight } from '../model/score-head.ts'
import type { DecoderModel } from '../model/types.ts'
import type { StepObjective } from '../train/loop.ts'
import type { PairBatch } from './pair-batch.ts'
import { rmLoss } from './rm.ts'

/** Rewards [2b] of a pair batch (chosen rows then rejected rows): the score head at each row's last non-pad token. */
export function pairRewards(model: DecoderModel, adapter: AdapterState, batch: PairBatch, padId: number, opts: ForwardOptions & { gradientCheckpointing?: boolean } = {}): tf.Tensor1D {
  const hidden = forwardHidden(model, adapter, batch, opts) // [rows * seq, hidden]
  const rewards = scoreRewards(hidden, lastTokenPositions(batch, padId), scoreWeight(model, adapter))
  hidden.dispose()
  return rewards
}

/** The reward model's objective over pair micro-batches: per-pair losses summed, RewardTrainer's metrics per pair. */
export function rmObjective(ctx: { model: DecoderModel; adapter: AdapterState; options: RmStageOptions; padId: number }): StepObjective<PairBatch> {
  return {
    lossSum: (batch, opts) => {
      const rewards = pairRewards(ctx.model, ctx.adapter, batch, ctx.padId, opts)
      const { losses, metrics } = rmLoss(ctx.options, rewards)
      const loss: tf.Scalar = losses.sum()
      return { loss, metrics }
    },
    units: (batch) => batch.pairs,
    tokens: (batch) => batch.segments.reduce((n, seg) => n + (seg >= 0 ? 1 : 0), 0),
  }
}
