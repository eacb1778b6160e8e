import { sentenceBleu, type BleuTokenizer } from '../bleu/bleu.ts'
import { checkPairs } from '../check-inputs.ts'
import { matchedSlots, slotsOf } from './slots.ts'
import { predictedTurn, referenceTurn, type ToolTurn } from './turn.ts'

/** Options of {@link scoreToolCalls}. */
export interface ToolCallOptions {
  /** The tokenizer of the text turns' BLEU-4 (`zh` for Chinese answers). @defaultValue `'13a'` */
  tokenize?: BleuTokenizer
}

/** Function-calling scores in percent (0–100); `null` where no turn of that kind was scored. */
export interface ToolCallScore {
  /** Mean sentence BLEU-4 over the turns whose reference is text (0 for a turn answered with a call). */
  bleu4: number | null
  /** Matched slots / predicted slots, over all turns. */
  slotPrecision: number
  /** Matched slots / reference slots, over all turns. */
  slotRecall: number
  /** 2PR / (P + R) of the two above. */
  slotF1: number
  /** Share of the call turns whose predicted function names equal the reference's (as multisets). */
  nameAccuracy: number | null
  /** Share of the call turns whose prediction parses as tool calls. */
  jsonValidity: number | null
  /** Turns scored: all, those whose reference is a call, those whose reference is text. */
  turns: { total: number; calls: number; text: number }
  /** Slot counts summed over turns: matched, predicted, in the references. */
  slots: { matched: number; predicted: number; reference: number }
}

/**
 * Function-calling evaluation of generated assistant turns against reference turns.
 *
 * - A prediction is a generated string (or an already parsed {@link ToolTurn}); it is a call turn
 *   when it parses as calls ({@link parseToolCalls}), else a text turn.
 * - A reference is `{ text }`, `{ calls: [{ name, arguments }] }`, or a string read the same way.
 * - **Slots** are the (argument name, value) pairs of all the calls of a turn, a multiset; values are
 *   compared after canonicalisation ({@link canonicalValue}): object keys in any order, lists in
 *   their order, a string that is exactly a JSON number equal to that number ("3" ≡ 3). Function
 *   names are not part of a slot; name accuracy scores them. Slot precision, recall and F1 are
 *   micro-averaged: matched, predicted and reference slots are summed over all turns first. A call
 *   turn answered with text predicts no slot, so its reference slots all count as missed; a text
 *   turn answered with a call has no reference slot, so the predicted slots count against precision.
 * - **BLEU-4** is the mean over text-reference turns of sacrebleu's sentence BLEU (`exp` smoothing,
 *   effective order) of the prediction against the reference text; a text turn answered with a call
 *   scores 0.
 * - **Name accuracy** and **JSON validity** are over call-reference turns: the multiset of predicted
 *   function names equals the reference's; the prediction parses as calls.
 *
 * No reference implementation exists for these rules; test/eval/tool-calls.test.ts checks them on
 * hand-worked turns, and BLEU-4 against sacrebleu.
 */
export function scoreToolCalls(predictions: readonly (string | ToolTurn)[], references: readonly (string | ToolTurn)[], options: ToolCallOptions = {}): ToolCallScore {
  checkPairs('tool-calls', predictions, references, { atLeastOne: false })
  const slots = { matched: 0, predicted: 0, reference: 0 }
  const turns = { total: predictions.length, calls: 0, text: 0 }
  let bleuSum = 0
  let names = 0
  let valid = 0
  predictions.forEach((prediction, i) => {
    const reference = referenceTurn(references[i], i)
    const { turn, parsed } = predictedTurn(prediction)
    const predictedSlots = 'calls' in turn ? slotsOf(turn.calls) : []
    const referenceSlots = 'calls' in reference ? slotsOf(reference.calls) : []
    slots.matched += matchedSlots(predictedSlots, referenceSlots)
    slots.predicted += predictedSlots.length
    slots.reference += referenceSlots.length
    if ('text' in reference) {
      turns.text++
      if ('text' in turn) bleuSum += sentenceBleu(turn.text, [reference.text], { tokenize: options.tokenize ?? '13a' }).score
      return
    }
    turns.calls++
    if (parsed) valid++
    if ('calls' in turn && sameNames(turn, reference)) names++
  })
  const precision = slots.predicted > 0 ? slots.matched / slots.predicted : 0
  const recall = slots.reference > 0 ? slots.matched / slots.reference : 0
  const share = (count: number, of: number): number | null => (of > 0 ? (100 * count) / of : null)
  return {
    bleu4: turns.text > 0 ? bleuSum / turns.text : null,
    slotPrecision: 100 * precision,
    slotRecall: 100 * recall,
    slotF1: precision + recall > 0 ? (200 * precision * recall) / (precision + recall) : 0,
    nameAccuracy: share(names, turns.calls),
    jsonValidity: share(valid, turns.calls),
    turns,
    slots,
  }
}

const sortedNames = (turn: { calls: readonly { name: string }[] }): string => JSON.stringify(turn.calls.map((c) => c.name).sort())
const sameNames = (a: { calls: readonly { name: string }[] }, b: { calls: readonly { name: string }[] }): boolean => sortedNames(a) === sortedNames(b)
