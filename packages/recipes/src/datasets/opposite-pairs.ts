/**
 * Preference pairs over the opposites questions (datasets/opposites.ts), for the preference stages:
 * the prompt is the question, `chosen` the right antonym, `rejected` another word of the set, drawn
 * from the seed. The split is oppositesDataset's: the held-out (phrasing, word) questions are the
 * ones the SFT recipe (tiny-chat) never trained on, so held-out pairs test what a model learnt,
 * not what it saw.
 */
import { allOppositeQuestions, oppositePairs, oppositesDataset, seededRandom, type OppositesOptions } from './opposites.ts'

/** One pair in TRL's explicit-prompt format (`data.format: 'openai'` reads it). */
export type OppositePreference = {
  prompt: string
  chosen: string
  rejected: string
}

export interface OppositePreferences {
  /** Pairs of the training questions. */
  train: OppositePreference[]
  /** Pairs of the held-out questions, for the end-of-run check. */
  heldOut: OppositePreference[]
}

/**
 * Builds the pairs: every question once (training and held-out as oppositesDataset splits them with
 * the same options), each with one wrong word drawn from the seed (any word of the set but the answer).
 */
export function oppositePreferencePairs(options: Pick<OppositesOptions, 'seed' | 'heldOut'> = {}): OppositePreferences {
  const { seed = 0, heldOut = 0.15 } = options
  const held = new Set(oppositesDataset({ seed, heldOut }).heldOut.map((q) => q.prompt))
  const words = oppositePairs.flat()
  const random = seededRandom(seed + 1) // its own stream: the split's draws stay oppositesDataset's
  const pairs = allOppositeQuestions().map((q) => {
    const wrong = words.filter((w) => w !== q.answer)
    return { prompt: q.prompt, chosen: q.answer, rejected: wrong[Math.floor(random() * wrong.length)]! }
  })
  return { train: pairs.filter((p) => !held.has(p.prompt)), heldOut: pairs.filter((p) => held.has(p.prompt)) }
}
