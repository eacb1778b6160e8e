/**
 * A generated conversation set that teaches one skill a tiny random model can learn in a minute or
 * two on a CPU: answer "what is the opposite of <word>?" with the opposite word.
 *
 * The words and phrasings are tunekit's own. Every (phrasing, word) pair is one conversation;
 * a seeded share of the pairs is held out, so the end of a run can ask questions the model never
 * saw in that wording and check the answers exactly. Every word and every phrasing still appears in
 * training, so what is held out is the combination, not the vocabulary.
 */
import { mulberry32 } from '@tunekit/core'

/** Word pairs; each is used in both directions (hot → cold and cold → hot). */
export const oppositePairs: ReadonlyArray<readonly [string, string]> = [
  ['hot', 'cold'],
  ['big', 'small'],
  ['up', 'down'],
  ['fast', 'slow'],
  ['day', 'night'],
  ['open', 'closed'],
  ['wet', 'dry'],
  ['light', 'dark'],
  ['happy', 'sad'],
  ['early', 'late'],
  ['full', 'empty'],
  ['loud', 'quiet'],
  ['hard', 'soft'],
  ['high', 'low'],
  ['left', 'right'],
  ['strong', 'weak'],
]

/**
 * Ways to ask; `{word}` is replaced by the word. The word always follows a space, so it is the
 * same token in every phrasing (SentencePiece gives `▁hot` after a space, `hot` after a quote).
 */
export const oppositePhrasings: readonly string[] = [
  'What is the opposite of {word}?',
  "What's the opposite of {word}?",
  'Give me the opposite of {word}.',
  'Opposite of {word}?',
  'Tell me the opposite of the word {word}.',
  'Which word means the opposite of {word}?',
  'Name the antonym of {word}.',
  'What is an antonym for {word}?',
  'I need the opposite of {word}, please.',
  'What would you call the opposite of {word}?',
]

/** One row in oasst_top1's format: a single `text` column holding a ChatML conversation. */
export type ChatmlTextRecord = { text: string }

/** A question with its one correct answer. */
export interface QuestionAnswer {
  prompt: string
  answer: string
}

export interface OppositesOptions {
  /**
   * Seed of the held-out choice and of the row order.
   * @defaultValue 0
   */
  seed?: number
  /**
   * Share of (phrasing, word) pairs kept out of training, in [0, 0.5].
   * @defaultValue 0.15
   */
  heldOut?: number
  /**
   * Times each training pair is repeated (each time in a new seeded position).
   * @defaultValue 1
   */
  repeat?: number
}

export interface OppositesDataset {
  /** Training rows in oasst_top1's ChatML text format. */
  train: ChatmlTextRecord[]
  /** Pairs never seen in training, for the end-of-run check. */
  heldOut: QuestionAnswer[]
}

/** The demo data sets' generator: @tunekit/core's mulberry32 over the seed. */
export const seededRandom = (seed: number): (() => number) => mulberry32(seed)

/** Fisher–Yates shuffle driven by `random`, in place. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

/** Renders one user/assistant exchange exactly as oasst_top1's `text` column does. */
export function chatmlText(turns: ReadonlyArray<{ role: 'system' | 'user' | 'assistant'; content: string }>): string {
  return turns.map((t) => `<|im_start|>${t.role}\n${t.content}<|im_end|>\n`).join('')
}

/** Every (phrasing, word) question with its answer, in a fixed order. */
export function allOppositeQuestions(): QuestionAnswer[] {
  const words = oppositePairs.flatMap(([a, b]) => [
    [a, b],
    [b, a],
  ])
  return oppositePhrasings.flatMap((phrasing) =>
    words.map(([word, answer]) => ({ prompt: phrasing.replace('{word}', word!), answer: answer! })),
  )
}

/**
 * Builds the opposites set: training rows and held-out questions. The held-out questions are
 * chosen so that each one's word and phrasing both occur in training.
 */
export function oppositesDataset(options: OppositesOptions = {}): OppositesDataset {
  const { seed = 0, heldOut = 0.15, repeat = 1 } = options
  if (!(heldOut >= 0 && heldOut <= 0.5)) throw new RangeError(`heldOut must be in [0, 0.5], got ${heldOut}`)
  const random = seededRandom(seed)
  const questions = allOppositeQuestions()
  // allOppositeQuestions() lists phrasing by phrasing, each over every word.
  const words = oppositePairs.length * 2
  const wordOf = (i: number) => i % words
  const phrasingOf = (i: number) => Math.floor(i / words)

  // Hold out a seeded sample, skipping any pair whose word or phrasing would vanish from training.
  const wanted = Math.round(questions.length * heldOut)
  const order = shuffle(questions.map((_, i) => i), random)
  const wordLeft = new Map<number, number>()
  const phrasingLeft = new Map<number, number>()
  questions.forEach((_, i) => {
    wordLeft.set(wordOf(i), (wordLeft.get(wordOf(i)) ?? 0) + 1)
    phrasingLeft.set(phrasingOf(i), (phrasingLeft.get(phrasingOf(i)) ?? 0) + 1)
  })
  const held = new Set<number>()
  for (const i of order) {
    if (held.size >= wanted) break
    const w = wordOf(i)
    const p = phrasingOf(i)
    // Keep at least half of each word's and each phrasing's questions in training.
    if (wordLeft.get(w)! <= oppositePhrasings.length / 2 || phrasingLeft.get(p)! <= oppositePairs.length) continue
    held.add(i)
    wordLeft.set(w, wordLeft.get(w)! - 1)
    phrasingLeft.set(p, phrasingLeft.get(p)! - 1)
  }

  const trainQuestions = questions.filter((_, i) => !held.has(i))
  const rows = Array.from({ length: repeat }, () => trainQuestions).flat()
  const train = shuffle(rows, random).map((q) => ({
    text: chatmlText([
      { role: 'user', content: q.prompt },
      { role: 'assistant', content: q.answer },
    ]),
  }))
  return { train, heldOut: [...held].sort((a, b) => a - b).map((i) => questions[i]!) }
}
