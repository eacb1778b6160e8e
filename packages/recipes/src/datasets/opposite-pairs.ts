/**
 * Preference pairs for the opposites skill (recipes/opposites-dpo.ts): each question of
 * {@link allOppositeQuestions} once, in TRL's `{ prompt, chosen, rejected }` form, the right
 * antonym chosen and a seeded wrong word rejected: half the time the word asked about itself (the
 * commonest mistake of a half-trained model, "opposite of hot?" → "hot"), else another pair's word.
 */
import { allOppositeQuestions, oppositePairs, seededRandom, type QuestionAnswer } from './opposites.ts'

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
