/**
 * A generated help-line FAQ in SQuAD's shape: each paragraph is a few sentences about one service
 * (opening hours, a phone number, how long a refund takes, …) and each question asks for one fact,
 * whose answer is a span of the paragraph with its character offset.
 *
 * The services, facts and phrasings are tunekit's own. Values are drawn per paragraph from a
 * seeded generator, so the same seed gives the same data set; a question's answer is never in the
 * question, and the sentence order is shuffled, so a model must read the context to answer.
 */
import { mulberry32 } from '@tunekit/core'

/** One question with its answer span, as SQuAD v1.1 writes it. */
export interface FaqQuestion {
  id: string
  question: string
  answers: Array<{ text: string; answer_start: number }>
}

/** One paragraph with its questions (SQuAD's `data[].paragraphs[]`). */
export interface FaqParagraph {
  context: string
  qas: FaqQuestion[]
}

export interface FaqOptions {
  /** Seed of the values and orders. @defaultValue 0 */
  seed?: number
  /** Paragraphs to generate. @defaultValue 40 */
  paragraphs?: number
}

const services = ['support line', 'billing desk', 'returns office', 'help centre', 'service desk', 'customer care team', 'repair shop', 'parcel desk']
const days = ['weekdays', 'every day', 'Monday to Saturday', 'Tuesday to Friday', 'weekends']
const hours = ['8 am to 6 pm', '9 am to 5 pm', '7 am to 3 pm', '10 am to 8 pm', '6 am to noon', 'noon to 9 pm']
const durations = ['three business days', 'five business days', 'two weeks', 'ten days', 'one week', 'four days']
const pages = ['account page', 'settings menu', 'profile screen', 'orders page', 'security tab']
const channels = ['email', 'phone', 'chat', 'post', 'text message']
const cities = ['Leeds', 'Porto', 'Lyon', 'Graz', 'Turin', 'Malmo', 'Ghent', 'Bergen']

/** A fact: the sentence that states it (`{v}` is the answer) and the ways to ask for it (`{s}`: the service). */
interface Fact {
  values: readonly string[]
  sentence: string
  questions: readonly string[]
}

const facts: readonly Fact[] = [
  { values: hours, sentence: 'The {s} is open from {v}.', questions: ['When is the {s} open?', 'What are the opening hours of the {s}?', 'At what times can I reach the {s}?'] },
  { values: days, sentence: 'It answers calls {v}.', questions: ['On which days does the {s} answer calls?', 'What days is the {s} available?'] },
  { values: durations, sentence: 'A refund takes {v} to arrive.', questions: ['How long does a refund from the {s} take?', 'How long until a refund arrives?'] },
  { values: pages, sentence: 'You can reset your password from the {v}.', questions: ['Where can I reset my password?', 'Where do I change a forgotten password?'] },
  { values: channels, sentence: 'Receipts are sent by {v}.', questions: ['How are receipts sent?', 'How does the {s} send receipts?'] },
  { values: cities, sentence: 'The {s} is based in {v}.', questions: ['Where is the {s} based?', 'In which city is the {s}?'] },
]

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!

function shuffle<T>(rand: () => number, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
  }
  return xs
}

/** One paragraph: every fact stated once (shuffled), one question per fact. */
function paragraph(rand: () => number, index: number): FaqParagraph {
  const s = pick(rand, services)
  const stated = shuffle(rand, facts.map((f) => ({ fact: f, value: pick(rand, f.values) })))
  let context = ''
  const qas: FaqQuestion[] = []
  stated.forEach(({ fact, value }, k) => {
    const sentence = fact.sentence.replaceAll('{s}', s)
    const at = sentence.indexOf('{v}')
    if (context !== '') context += ' '
    const start = context.length + at
    context += sentence.replace('{v}', value)
    qas.push({ id: `faq-${index}-${k}`, question: pick(rand, fact.questions).replaceAll('{s}', s), answers: [{ text: value, answer_start: start }] })
  })
  return { context, qas }
}

/** The FAQ paragraphs of `seed`. */
export function faqParagraphs(options: FaqOptions = {}): FaqParagraph[] {
  const rand = mulberry32(options.seed ?? 0)
  return Array.from({ length: options.paragraphs ?? 40 }, (_, i) => paragraph(rand, i))
}

/** The paragraphs as a SQuAD v1.1 file's JSON (`{ version, data: [{ title, paragraphs }] }`). */
export function faqSquadJson(options: FaqOptions = {}): { version: string; data: Array<{ title: string; paragraphs: FaqParagraph[] }> } {
  return { version: '1.1', data: [{ title: 'help-line FAQ', paragraphs: faqParagraphs(options) }] }
}
