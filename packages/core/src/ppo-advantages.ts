// The ppo stage's rollout arithmetic, backend-free: per-token rewards, GAE, whitening, returns and
// the rollout's metrics, exactly as TRL 0.29.1's PPOTrainer.train() computes them
// (trl/experimental/ppo/ppo_trainer.py, lines 753–794), on a rollout batch laid out as TRL lays it:
// W = the longest completion of the batch, row r's completion L_r tokens long (its eos included).
import type { PpoStageOptions } from './schema/stage-ppo.ts'

/** One rollout batch, row by row: what the policy, the reference, the value head and the reward model gave. */
export interface PpoRollout {
  /** log π_old of each completion token [L_r] (logits / (temperature + 1e-7)). */
  logprobs: readonly (readonly number[])[]
  /** log π_ref of each completion token [L_r]. */
  refLogprobs: readonly (readonly number[])[]
  /**
   * Values V(s_t) [min(L_r + 1, W)]: the value head at the token before completion token t, and at
   * the completion's last token (TRL's values keep one position past the end: its padding_mask_p1).
   */
  values: readonly (readonly number[])[]
  /** The reward model's score of each completion (read at its last token) [rows]. */
  scores: readonly number[]
  /** Whether each completion ended with eos (TRL's contain_eos_token) [rows]. */
  hasEos: readonly boolean[]
}

/** What the loss needs of a rollout, row by row, and the rollout's metrics. */
export interface PpoAdvantages {
  /** Whitened GAE advantages [L_r]. */
  advantages: number[][]
  /** Returns R_t = A_t + V(s_t) (before whitening) [min(L_r + 1, W)]. */
  returns: number[][]
  /** The values the rollout saw [min(L_r + 1, W)] (the value loss clips around them). */
  values: number[][]
  /** The score after the missing-eos penalty [rows]. */
  scores: number[]
  /** Σ_t KL_t of each row [rows]. */
  klSums: number[]
  /** Σ_t −klCoef·KL_t of each row [rows]. */
  nonScoreSums: number[]
  /** The width W of the rollout batch. */
  width: number
}

type Grid = Float64Array[]

const masked = (grid: Grid, mask: (r: number, t: number) => boolean): number[] => grid.flatMap((row, r) => [...row].filter((_, t) => mask(r, t)))

/** TRL's masked_whiten (ppo_trainer.py 273–281): (x − mean) · rsqrt(var + 1e-8), var unbiased, mean added back unless shiftMean. */
function maskedWhiten(grid: Grid, mask: (r: number, t: number) => boolean, shiftMean: boolean): Grid {
  const values = masked(grid, mask)
  const n = values.length
  const mean = values.reduce((a, b) => a + b, 0) / n
  const variance = (values.reduce((a, v) => a + (v - mean) ** 2, 0) / n) * (n / (n - 1)) // Bessel's correction
  const scale = 1 / Math.sqrt(variance + 1e-8)
  return grid.map((row) => row.map((x) => (x - mean) * scale + (shiftMean ? 0 : mean)))
}

/**
 * Per-token rewards, GAE and whitened advantages of a rollout (TRL 0.29.1 ppo_trainer.py 753–794):
 *
 *   score_r −= missingEosPenalty   when completion r has no eos
 *   KL_t = log π_old − log π_ref (k1)   or   (e^{lr} − 1) − lr, lr = log π_ref − log π_old (k3)
 *   r_t = −klCoef·KL_t,  r_end += score   (end = L_r when L_r < W, else L_r − 1: TRL's actual_end)
 *   δ_t = r_t + γ·V_{t+1} − V_t,  A_t = δ_t + γλ·A_{t+1}   (over the whole width, V = 0 past L_r)
 *   R_t = A_t + V_t,  A ← whiten(A) over the completion tokens
 */
export function ppoAdvantages(o: Pick<PpoStageOptions, 'klCoef' | 'klEstimator' | 'gamma' | 'lam' | 'whitenRewards' | 'missingEosPenalty'>, rollout: PpoRollout): PpoAdvantages {
  const lengths = rollout.logprobs.map((l) => l.length)
  const rows = lengths.length
  const width = Math.max(...lengths)
  const valueSpan = (r: number) => Math.min(lengths[r]! + 1, width) // positions t ≤ L_r (TRL's ~padding_mask_p1)
  const scores = rollout.scores.map((s, r) => (rollout.hasEos[r] || o.missingEosPenalty === undefined ? s : s - o.missingEosPenalty))
  const grid = (): Grid => Array.from({ length: rows }, () => new Float64Array(width))
  const kl = grid()
  const values = grid()
  let rewards = grid()
  const klSums: number[] = []
  const nonScoreSums: number[] = []
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < lengths[r]!; t++) {
      const logr = rollout.refLogprobs[r]![t]! - rollout.logprobs[r]![t]!
      kl[r]![t] = o.klEstimator === 'k1' ? -logr : Math.expm1(logr) - logr
      rewards[r]![t] = -o.klCoef * kl[r]![t]!
    }
    for (let t = 0; t < valueSpan(r); t++) values[r]![t] = rollout.values[r]![t]!
    klSums.push(kl[r]!.reduce((a, b) => a + b, 0))
    nonScoreSums.push(rewards[r]!.reduce((a, b) => a + b, 0))
    const end = lengths[r]! < width ? lengths[r]! : lengths[r]! - 1
    rewards[r]![end]! += scores[r]!
  }
  if (o.whitenRewards) {
    const inSpan = (r: number, t: number) => t < valueSpan(r)
    rewards = maskedWhiten(rewards, inSpan, false).map((row, r) => row.map((x, t) => (inSpan(r, t) ? x : 0)))
  }
  const gae = grid()
  for (let r = 0; r < rows; r++) {
    let last = 0
    for (let t = width - 1; t >= 0; t--) {
      const next = t < width - 1 ? values[r]![t + 1]! : 0
      const delta = rewards[r]![t]! + o.gamma * next - values[r]![t]!
      last = delta + o.gamma * o.lam * last
      gae[r]![t] = last
    }
  }
  const inCompletion = (r: number, t: number) => t < lengths[r]!
  const whitened = maskedWhiten(gae, inCompletion, true)
  return {
    advantages: whitened.map((row, r) => [...row.subarray(0, lengths[r]!)]),
    returns: gae.map((row, r) => Array.from({ length: valueSpan(r) }, (_, t) => row[t]! + values[r]![t]!)),
    values: values.map((row, r) => [...row.subarray(0, valueSpan(r))]),
    scores,
    klSums,
    nonScoreSums,
    width,
  }
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const variance = (xs: readonly number[]): number => mean(xs.map((x) => (x - mean(xs)) ** 2))

/**
 * The rollout's metrics under TRL's names (PPOTrainer.train()'s `metrics`, ppo_trainer.py 877–900):
 * objective/kl (mean Σ_t KL), objective/entropy (mean Σ_t −log π_old over the completion's tokens;
 * TRL's also counts −1 per padding position), objective/non_score_reward, objective/rlhf_reward,
 * objective/scores, val/num_eos_tokens; plus the value head's explained variance
 * 1 − Var(R − V) / Var(R) (TRL 0.11's val/var_explained) and the completion lengths.
 */
export function ppoRolloutMetrics(a: PpoAdvantages, logprobs: readonly (readonly number[])[], hasEos: readonly boolean[]): Record<string, number> {
  const lengths = logprobs.map((l) => l.length)
  const nonScore = mean(a.nonScoreSums)
  const returns = a.returns.flat()
  const residual = a.returns.flatMap((row, r) => row.map((x, t) => x - a.values[r]![t]!))
  const varReturns = variance(returns)
  return {
    'objective/kl': mean(a.klSums),
    'objective/entropy': mean(logprobs.map((l) => -l.reduce((s, x) => s + x, 0))),
    'objective/non_score_reward': nonScore,
    'objective/rlhf_reward': nonScore + mean(a.scores),
    'objective/scores': mean(a.scores),
    'val/num_eos_tokens': hasEos.filter(Boolean).length,
    'val/var_explained': varReturns > 0 ? 1 - variance(residual) / varReturns : 0,
    'completions/mean_length': mean(lengths),
    'completions/min_length': Math.min(...lengths),
    'completions/max_length': Math.max(...lengths),
    'completions/clipped_ratio': hasEos.filter((e) => !e).length / Math.max(1, hasEos.length),
  }
}
