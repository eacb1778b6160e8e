import { canonicalJson, type EvalMetric, type Json } from '@tunekit/core'
import { sentenceBleu } from '../bleu/bleu.ts'
import { tokenizeZh } from '../bleu/tokenize-zh.ts'
import { rougeL } from '../rouge/rouge-l.ts'
import { exactMatch } from '../squad/normalize.ts'
import { canonicalValue } from '../tool-calls/slots.ts'
import { scoreToolCalls } from '../tool-calls/score.ts'
import { predictedTurn, referenceTurn, type ToolCall, type ToolTurn } from '../tool-calls/turn.ts'

/** Options of {@link scoreHeldOut}. */
export interface HeldOutScoreOptions {
  /** Tokenizer of BLEU-4 and ROUGE-L (`eval.tokenize`): sacrebleu's `13a`, or `zh` for Chinese and mixed text. @defaultValue `'13a'` */
  tokenize?: '13a' | 'zh'
}

const callKey = (call: ToolCall): string => canonicalJson([call.name, canonicalValue(call.arguments)])
const sameCalls = (a: readonly ToolCall[], b: readonly ToolCall[]): boolean => JSON.stringify(a.map(callKey).sort()) === JSON.stringify(b.map(callKey).sort())

/** Whether a turn is entirely right: text equal after SQuAD normalisation, or the same calls (names and canonical slots, in any order). */
function exactTurn(predicted: ToolTurn, reference: ToolTurn): number {
  if ('text' in reference) return 'text' in predicted ? exactMatch(predicted.text, reference.text) : 0
  return 'calls' in predicted && sameCalls(predicted.calls, reference.calls) ? 1 : 0
}

/** Mean over the text-reference turns of `score(prediction, reference)`; a text turn answered with a call scores 0; null when there is none. */
function meanOverText(turns: readonly { predicted: ToolTurn; reference: ToolTurn }[], score: (prediction: string, reference: string) => number): number | null {
  const text = turns.filter((t) => 'text' in t.reference)
  if (text.length === 0) return null
  const sum = text.reduce((s, t) => s + ('text' in t.predicted && 'text' in t.reference ? score(t.predicted.text, t.reference.text) : 0), 0)
  return sum / text.length
}

/**
 * The `eval` group's metrics of generated answers against the held-out reference turns, metric →
 * percent (0–100), `null` where no turn of that kind exists:
 *
 * - `bleu4` → `bleu4`: mean sentence BLEU-4 (sacrebleu's `sentence_bleu`) over the text-reference
 *   turns, a text turn answered with a call scoring 0 — the seed's BLEU-4 column (equal to
 *   {@link scoreToolCalls}' `bleu4`).
 * - `rougeL` → `rougeL`: mean ROUGE-L F (rouge-score; `zh`: the `zh` tokens) over the same turns.
 * - `exact` → `exactMatch`: share of all turns entirely right (text after SQuAD normalisation;
 *   calls with the same names and canonical slots, in any order).
 * - `toolCalls` → `slotPrecision`, `slotRecall`, `slotF1`, `nameAccuracy`, `jsonValidity`
 *   ({@link scoreToolCalls}: micro-averaged slots, the seed's rules).
 *
 * A reference is a turn, or a string read as calls when it parses as calls; a prediction is the
 * generated string, read the same way.
 */
export function scoreHeldOut(
  metrics: readonly EvalMetric[],
  predictions: readonly string[],
  references: readonly (string | ToolTurn)[],
  options: HeldOutScoreOptions = {},
): { [metric: string]: number | null } {
  const tokenize = options.tokenize ?? '13a'
  const turns = predictions.map((p, i) => ({ predicted: predictedTurn(p).turn, reference: referenceTurn(references[i], i) }))
  const out: { [metric: string]: number | null } = {}
  for (const metric of new Set(metrics)) {
    if (metric === 'bleu4') out.bleu4 = meanOverText(turns, (p, r) => sentenceBleu(p, [r], { tokenize }).score)
    else if (metric === 'rougeL') out.rougeL = meanOverText(turns, (p, r) => 100 * rougeL(p, r, tokenize === 'zh' ? { tokenize: tokenizeZh } : {}).fmeasure)
    else if (metric === 'exact') out.exactMatch = turns.length > 0 ? (100 * turns.reduce((s, t) => s + exactTurn(t.predicted, t.reference), 0)) / turns.length : null
    else {
      const s = scoreToolCalls(predictions, turns.map((t) => t.reference), { tokenize })
      Object.assign(out, { slotPrecision: s.slotPrecision, slotRecall: s.slotRecall, slotF1: s.slotF1, nameAccuracy: s.nameAccuracy, jsonValidity: s.jsonValidity })
    }
  }
  return out
}

/** A reference turn as the score node stores it: `{ calls }` when the text parses as tool calls, else `{ text }`. */
export const referenceOf = (content: string): { text: string } | { calls: { name: string; arguments: { [name: string]: Json } }[] } => {
  const turn = predictedTurn(content).turn
  return 'calls' in turn ? { calls: [...turn.calls] } : turn
}
