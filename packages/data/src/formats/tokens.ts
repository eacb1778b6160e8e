// data.format 'tokens': records that are already token ids (LLaMA-Factory's `tokenized_path`,
// a `datasets` column set saved after `tokenizer(...)`), mapped to ids and a loss mask here; the
// tokenize node writes them to the shards as they are (no template, no bos or eos added).
//   labels:         transformers' form, unshifted: labels[t] = input_ids[t], or -100 where masked
//   mask:           tunekit's form: 1 where token t carries loss, 0 elsewhere
//   attention_mask: alone, every token it keeps is a label; its 0s are padding and are left out
import { describeValue } from '../util/describe.ts'
import { problem, RecordProblem } from './conversation.ts'
import type { DataRecord, Parsed } from './parsers.ts'

/** transformers' ignore_index: a label of -100 carries no loss (CrossEntropyLoss's default). */
const IGNORE = -100

const intList = (record: DataRecord, field: string): number[] | undefined => {
  const v = record[field]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v)) return problem(`field ${JSON.stringify(field)} is ${describeValue(v)}, not a list of token ids`)
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x)) problem(`${field}[${i}] is ${describeValue(x)}, not a whole number`)
  })
  return v as number[]
}

const sameLength = (field: string, list: readonly number[], ids: readonly number[]): void => {
  if (list.length !== ids.length) {
    throw new RecordProblem(`${field} has ${list.length} entries but input_ids has ${ids.length}`, 'TokenLabelsLength')
  }
}

/** Maps one pre-tokenized record to ids and a 0/1 loss mask; every problem is a RecordProblem. */
export function parseTokens(record: DataRecord): Parsed {
  const input = intList(record, 'input_ids')
  if (input === undefined) return problem(`missing field "input_ids" (the record has ${Object.keys(record).map((k) => JSON.stringify(k)).join(', ') || 'no fields'})`)
  if (input.length < 2) return problem(`input_ids has ${input.length} token${input.length === 1 ? '' : 's'}; a sample needs at least 2 (position 0 predicts nothing)`)
  const labels = intList(record, 'labels')
  const given = intList(record, 'mask')
  const attention = intList(record, 'attention_mask')
  let ids = input
  let mask: number[]
  let field: string
  if (labels) {
    field = 'labels'
    sameLength('labels', labels, input)
    mask = labels.map((l, t) => {
      if (l === IGNORE) return 0
      if (l !== input[t]) problem(`labels[${t}] is ${l}, neither -100 nor input_ids[${t}] (${input[t]}); tunekit shifts labels itself, so write them unshifted, as transformers does`)
      return 1
    })
  } else if (given) {
    field = 'mask'
    sameLength('mask', given, input)
    mask = given.map((m, t) => (m === 0 || m === 1 ? m : problem(`mask[${t}] is ${m}; a mask holds 0 (no loss) or 1 (loss)`)))
  } else if (attention) {
    field = 'attention_mask'
    sameLength('attention_mask', attention, input)
    ids = input.filter((_, t) => attention[t] !== 0)
    mask = ids.map(() => 1)
  } else {
    return problem('the record has input_ids but no labels, mask or attention_mask to say which tokens carry loss')
  }
  if (attention && (labels || given)) {
    sameLength('attention_mask', attention, input)
    // padding (attention 0) is left out with its label
    const keep = input.map((_, t) => attention[t] !== 0)
    ids = input.filter((_, t) => keep[t])
    mask = mask.filter((_, t) => keep[t])
  }
  if (!mask.some((m, t) => t > 0 && m === 1)) throw new RecordProblem(`every position after the first is masked in ${field}`, 'TokenRecordUnlabelled')
  return { kind: 'tokens', ids, mask }
}
