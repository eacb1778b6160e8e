/**
 * Preference pairs for the opposites skill, the right antonym chosen and a seeded wrong word
 * rejected, in TRL's `{ prompt, chosen, rejected }` form: `oppositePreferences` for DPO
 * (recipes/opposites-dpo.ts: every question not excluded, the wrong word half the time the one
 * asked about), `oppositePreferencePairs` for the reward model (recipes/opposites-rm.ts: split as
 * oppositesDataset splits its questions, so held-out pairs are questions tiny-chat never trained on).
 */
import { allOppositeQuestions, oppositePairs, oppositesDataset, seededRandom, type OppositesOptions, type QuestionAnswer } from './opposites.ts'

/** One preference record in TRL's explicit-prompt format. */
export type OppositePreference = { prompt: string; chosen: string; rejected: string }

export interface OppositePreferenceOptions {
  /**
   * Seed of the rejected words and of the row order.
   * @defaultValue 0
   */
  seed?: number
  /**
   * Questions to leave out (an SFT recipe's held-out questions, so that its exact-answer check stays unseen).
   * @defaultValue []
   */
  exclude?: readonly QuestionAnswer[]
}

/** Every opposites question not in `exclude` as a preference pair, in a seeded order. */
export function oppositePreferences(options: OppositePreferenceOptions = {}): OppositePreference[] {
  const { seed = 0, exclude = [] } = options
  const random = seededRandom(seed)
  const left = new Set(exclude.map((q) => q.prompt))
  const words = oppositePairs.flat()
  const rows = allOppositeQuestions()
    .filter((q) => !left.has(q.prompt))
    .map((q) => {
      const asked = oppositePairs.find(([a, b]) => a === q.answer || b === q.answer)!.find((w) => w !== q.answer)!
      const others = words.filter((w) => w !== q.answer && w !== asked)
      const rejected = random() < 0.5 ? asked : others[Math.floor(random() * others.length)]!
      return { prompt: q.prompt, chosen: q.answer, rejected }
    })
  // Fisher–Yates with the same generator, so the seed fixes the order too
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[rows[i], rows[j]] = [rows[j]!, rows[i]!]
  }
  return rows
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
