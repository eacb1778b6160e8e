// Extractive QA examples from SQuAD v1.1 / v2.0 JSON (`data[].paragraphs[].qas[]`) and from flat
// records with the same fields (one question per record, as the Hub's `squad` and `squad_v2`
// datasets hold them), in the flat form transformers' run_qa.py reads:
//   { id, question, context, answers: { text: [...], answer_start: [...] } }.
// Checks, all reported at once: every field is there; each answer's text is the context at its
// answer_start; a question without an answer only in v2.0 (where it trains the null answer).
// answer_start in the files counts code points (SQuAD's Python string indices, what the official
// script and run_qa.py slice by); read, it becomes a JavaScript string index (UTF-16 code units),
// which differs after a character outside the Basic Multilingual Plane (an emoji, rare CJK).
import { issue, TunekitError, type Issue } from '@tunekit/core'

/**
 * One question, flat. An empty `answers.text` is an unanswerable question (v2.0). Read by
 * {@link readQaExamples}, `answer_start` indexes the JavaScript string (UTF-16 code units).
 */
export interface QaExample {
  id: string
  question: string
  context: string
  answers: { text: string[]; answer_start: number[] }
  title?: string
}

export type SquadVersion = '1.1' | '2.0'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `answers` as SQuAD JSON writes it (a list of `{ text, answer_start }`) or flat (`{ text: [], answer_start: [] }`). */
function readAnswers(v: unknown, where: string, issues: Issue[]): QaExample['answers'] | undefined {
  const bad = (reason: string) => {
    issues.push(issue('BadQaRecord', { path: `${where}.answers`, value: v }, where, reason))
    return undefined
  }
  if (Array.isArray(v)) {
    const text: string[] = []
    const start: number[] = []
    for (const a of v) {
      if (!isObj(a) || typeof a.text !== 'string' || !Number.isInteger(a.answer_start)) return bad('each answer needs a string "text" and a whole-number "answer_start"')
      text.push(a.text)
      start.push(a.answer_start as number)
    }
    return { text, answer_start: start }
  }
  if (isObj(v) && Array.isArray(v.text) && Array.isArray(v.answer_start)) {
    if (v.text.length !== v.answer_start.length) return bad(`answers.text has ${v.text.length} entries but answers.answer_start ${v.answer_start.length}`)
    if (!v.text.every((t) => typeof t === 'string') || !v.answer_start.every((s) => Number.isInteger(s))) return bad('answers.text must hold strings and answers.answer_start whole numbers')
    return { text: v.text as string[], answer_start: v.answer_start as number[] }
  }
  return bad('"answers" is neither a list of { text, answer_start } nor { text: [...], answer_start: [...] }')
}

/** One question record (`context` may come from its paragraph). */
function readQuestion(q: unknown, context: unknown, where: string, issues: Issue[], title?: string): QaExample | undefined {
  if (!isObj(q)) {
    issues.push(issue('BadQaRecord', { path: where, value: q }, where, 'a question record must be an object'))
    return undefined
  }
  const missing: string[] = ['id', 'question'].filter((k) => typeof q[k] !== 'string')
  if (typeof context !== 'string') missing.push('context')
  if (missing.length > 0) {
    issues.push(issue('BadQaRecord', { path: where, value: q }, where, `no string ${missing.map((k) => `"${k}"`).join(', ')}`))
    return undefined
  }
  // v2.0 writes unanswerable questions with is_impossible and (its plausible) answers elsewhere
  const answers = q.is_impossible === true ? { text: [], answer_start: [] } : readAnswers(q.answers ?? [], where, issues)
  if (!answers) return undefined
  return { id: q.id as string, question: q.question as string, context: context as string, answers, ...(title !== undefined ? { title } : {}) }
}

/** The questions of a SQuAD JSON object, in file order. */
export function squadJsonExamples(json: unknown, where: string, issues: Issue[]): QaExample[] {
  if (!isObj(json) || !Array.isArray(json.data)) {
    issues.push(issue('BadQaRecord', { path: where }, where, 'a SQuAD file is an object with a "data" list of articles'))
    return []
  }
  const out: QaExample[] = []
  json.data.forEach((article, a) => {
    const paragraphs = isObj(article) && Array.isArray(article.paragraphs) ? article.paragraphs : undefined
    if (!paragraphs) return issues.push(issue('BadQaRecord', { path: `${where}: data[${a}]` }, `${where}: data[${a}]`, 'an article needs a "paragraphs" list'))
    const title = typeof (article as Obj).title === 'string' ? ((article as Obj).title as string) : undefined
    paragraphs.forEach((p, i) => {
      const at = `${where}: data[${a}].paragraphs[${i}]`
      if (!isObj(p) || !Array.isArray(p.qas)) return issues.push(issue('BadQaRecord', { path: at }, at, 'a paragraph needs a "context" and a "qas" list'))
      p.qas.forEach((q, k) => {
        const e = readQuestion(q, p.context, `${at}.qas[${k}]`, issues, title)
        if (e) out.push(e)
      })
    })
  })
  return out
}

/** SQuAD's own `version` field ("v2.0", "1.1", …) as a version, when it names one. */
export function squadFileVersion(json: unknown): SquadVersion | undefined {
  const v = isObj(json) && typeof json.version === 'string' ? json.version.replace(/^v/, '') : undefined
  return v === '2.0' ? '2.0' : v === '1.1' ? '1.1' : undefined
}

/** Flat records (JSONL lines, Hub rows): one question each, with its context. */
export function flatQaExamples(records: readonly unknown[], where: string, issues: Issue[]): QaExample[] {
  return records.flatMap((r, i) => {
    const e = readQuestion(r, isObj(r) ? r.context : undefined, `${where}[${i}]`, issues, isObj(r) && typeof r.title === 'string' ? r.title : undefined)
    return e ? [e] : []
  })
}

/** The UTF-16 index of code point `cp` of `text` (the same number when no surrogate pair comes before it); -1 past the end. */
export function utf16Index(text: string, cp: number): number {
  if (cp < 0) return -1
  if (!/[\uD800-\uDBFF]/.test(text)) return cp <= text.length ? cp : -1
  let units = 0
  for (let n = 0; n < cp; n++) {
    if (units >= text.length) return -1
    units += (text.codePointAt(units) ?? 0) > 0xffff ? 2 : 1
  }
  return units <= text.length ? units : -1
}

/** An example with its answer_start moved from code points (the file's) to string indices. */
const withUtf16Starts = (e: QaExample): QaExample => ({ ...e, answers: { text: e.answers.text, answer_start: e.answers.answer_start.map((s) => utf16Index(e.context, s)) } })

/**
 * The checks of every example (answer_start in code points, as the files hold it): answers lie in
 * their context; unanswerable only in v2.0.
 */
export function qaExampleIssues(examples: readonly QaExample[], version: SquadVersion): Issue[] {
  const issues: Issue[] = []
  for (const e of examples) {
    if (e.answers.text.length === 0) {
      if (version === '1.1') issues.push(issue('QaUnanswerableInV1', { path: `question ${e.id}`, value: e.id }, e.id))
      continue
    }
    e.answers.text.forEach((text, k) => {
      const start = e.answers.answer_start[k]!
      const at = utf16Index(e.context, start)
      const found = at < 0 ? '' : e.context.slice(at, at + text.length)
      if (found !== text || at < 0) issues.push(issue('QaAnswerMismatch', { path: `question ${e.id}: answers[${k}]`, value: { text, answer_start: start } }, e.id, text, found, start))
    })
  }
  return issues
}

/**
 * Reads SQuAD JSON (an object with `data`) or flat records (a list) into checked examples; throws
 * every problem at once. `version` defaults to the file's own, else 1.1 (flat records: 1.1).
 */
export function readQaExamples(input: unknown, where: string, version?: SquadVersion): { examples: QaExample[]; version: SquadVersion } {
  const issues: Issue[] = []
  const examples = Array.isArray(input) ? flatQaExamples(input, where, issues) : squadJsonExamples(input, where, issues)
  const v = version ?? (Array.isArray(input) ? undefined : squadFileVersion(input)) ?? '1.1'
  issues.push(...qaExampleIssues(examples, v))
  if (issues.length > 0) throw new TunekitError(issues)
  return { examples: examples.map(withUtf16Starts), version: v }
}
