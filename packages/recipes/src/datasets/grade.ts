import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { QuestionAnswer } from './opposites.ts'

/** One generated answer, as a generate node writes it to `samples.jsonl`. */
export interface Sample {
  prompt: string
  completion: string
}

export interface GradedAnswer extends QuestionAnswer {
  /** What the model answered (trimmed), or `null` when no sample has this prompt. */
  got: string | null
  ok: boolean
}

export interface Grades {
  correct: number
  total: number
  answers: GradedAnswer[]
}

/** Reads `<runDir>/samples/samples.jsonl` (the run folder's link to the generate node's artifact); `[]` when absent. */
export function readRunSamples(runDir: string): Sample[] {
  const file = join(runDir, 'samples', 'samples.jsonl')
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Sample)
}

/** Compares answers exactly (after trimming whitespace): a held-out question is right or wrong. */
export function gradeAnswers(questions: readonly QuestionAnswer[], samples: readonly Sample[]): Grades {
  const byPrompt = new Map(samples.map((s) => [s.prompt, s.completion.trim()]))
  const answers = questions.map((q) => {
    const got = byPrompt.get(q.prompt) ?? null
    return { ...q, got, ok: got === q.answer }
  })
  return { correct: answers.filter((a) => a.ok).length, total: answers.length, answers }
}

/** A table of the answers, one line each, and the score. */
export function formatGrades(grades: Grades): string {
  const width = Math.max(...grades.answers.map((a) => a.prompt.length))
  const lines = grades.answers.map((a) => `  ${a.ok ? '✔' : '✖'} ${a.prompt.padEnd(width)}  → ${a.got ?? '(no answer)'}${a.ok ? '' : `   (expected ${a.answer})`}`)
  return [...lines, `${grades.correct}/${grades.total} held-out questions answered correctly`].join('\n')
}
