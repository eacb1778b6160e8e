/**
 * Preference pairs over the opposites questions (datasets/opposites.ts), for the preference stages:
 * the prompt is the question, `chosen` the right antonym, `rejected` a wrong word (another word of the
 * set drawn from the seed, or the question's own word). The split is oppositesDataset's: the held-out (phrasing, word) questions are the
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
export function oppositePreferencePairs(options: Pick<OppositesOptions, 'seed' | 'heldOut'> & {
  /**
   * The wrong word: `'echo'` the question's own word (a tiny model's commonest mistake: repeating it),
   * `'random'` any word of the set but the answer, drawn from the seed.
   * @defaultValue 'random'
   */
  rejected?: 'echo' | 'random'
} = {}): OppositePreferences {
  const { seed = 0, heldOut = 0.15, rejected = 'random' } = options
  const held = new Set(oppositesDataset({ seed, heldOut }).heldOut.map((q) => q.prompt))
  const words = oppositePairs.flat()
  const random = seededRandom(seed + 1) // its own stream: the split's draws stay oppositesDataset's
  const pairs = allOppositeQuestions().map((q, i) => {
    const wrong = words.filter((w) => w !== q.answer)
    // allOppositeQuestions lists every phrasing over the words in oppositePairs.flat()'s order
    const echo = words[i % words.length]!
    return { prompt: q.prompt, chosen: q.answer, rejected: rejected === 'echo' ? echo : wrong[Math.floor(random() * wrong.length)]! }
  })
  return { train: pairs.filter((p) => !held.has(p.prompt)), heldOut: pairs.filter((p) => held.has(p.prompt)) }
}
