// Extractive QA data: SQuAD v1.1 / v2.0 JSON and flat records read into the same checked examples,
// and training windows whose ids, token types, offsets and start/end labels equal transformers'
// run_qa.py `prepare_train_features` run with the fast tokenizer in Python on the same data.
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isTunekitError } from '@tunekit/core'
import { qaTrainFeatures, readQaExamples, wordPieceEncoder, writeWordPieceTokenizer, type QaExample, type WordPieceJson } from '@tunekit/data'
import { faqParagraphs, faqSquadJson } from '@tunekit/recipes'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { workerPython } from '../python.ts'

// run_qa.py's prepare_train_features (transformers examples/pytorch/question-answering), verbatim
// but for the column names and padding=False (padding adds tokens after the labels, never moves them).
const PY = `
import json, sys
from transformers import AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
req = json.load(sys.stdin)
examples = {k: [e[k] for e in req["examples"]] for k in ["question", "context", "answers"]}
pad_on_right = tokenizer.padding_side == "right"
examples["question"] = [q.lstrip() for q in examples["question"]]
tokenized_examples = tokenizer(examples["question"], examples["context"], truncation="only_second", max_length=req["maxLength"], stride=req["docStride"], return_overflowing_tokens=True, return_offsets_mapping=True, padding=False)
sample_mapping = tokenized_examples.pop("overflow_to_sample_mapping")
offset_mapping = tokenized_examples.pop("offset_mapping")
out = []
for i, offsets in enumerate(offset_mapping):
    input_ids = tokenized_examples["input_ids"][i]
    cls_index = input_ids.index(tokenizer.cls_token_id)
    sequence_ids = tokenized_examples.sequence_ids(i)
    sample_index = sample_mapping[i]
    answers = examples["answers"][sample_index]
    if len(answers["answer_start"]) == 0:
        start, end = cls_index, cls_index
    else:
        start_char = answers["answer_start"][0]
        end_char = start_char + len(answers["text"][0])
        token_start_index = 0
        while sequence_ids[token_start_index] != (1 if pad_on_right else 0):
            token_start_index += 1
        token_end_index = len(input_ids) - 1
        while sequence_ids[token_end_index] != (1 if pad_on_right else 0):
            token_end_index -= 1
        if not (offsets[token_start_index][0] <= start_char and offsets[token_end_index][1] >= end_char):
            start, end = cls_index, cls_index
        else:
            while token_start_index < len(offsets) and offsets[token_start_index][0] <= start_char:
                token_start_index += 1
            start = token_start_index - 1
            while offsets[token_end_index][1] >= end_char:
                token_end_index -= 1
            end = token_end_index + 1
    out.append({"example": sample_index, "ids": input_ids, "typeIds": tokenized_examples["token_type_ids"][i], "offsets": [list(o) for o in offsets], "startPosition": start, "endPosition": end})
json.dump(out, sys.stdout)
`

const paragraphs = faqParagraphs({ seed: 5, paragraphs: 8 })
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tunekit-qa-'))
  await writeWordPieceTokenizer(dir, paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]), { vocabSize: 300 })
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/** SQuAD v2.0 JSON: a long context of four paragraphs (answers moved to their place in it), one unanswerable question, one with leading spaces. */
function v2Json() {
  const long = paragraphs.slice(0, 4)
  let context = ''
  const qas: Array<Record<string, unknown>> = []
  for (const p of long) {
    const shift = context === '' ? 0 : context.length + 1
    context = context === '' ? p.context : `${context} ${p.context}`
    for (const q of p.qas) qas.push({ ...q, answers: q.answers.map((a) => ({ ...a, answer_start: a.answer_start + shift })) })
  }
  qas.push({ id: 'no-answer', question: 'Who founded the company?', answers: [], is_impossible: true })
  qas.push({ id: 'spaces', question: '   Where is it based?', answers: (qas[5] as { answers: unknown }).answers })
  return { version: 'v2.0', data: [{ title: 'long', paragraphs: [{ context, qas }, ...paragraphs.slice(4).map((p) => ({ context: p.context, qas: p.qas })), emoji] }] }
}

// Characters outside the Basic Multilingual Plane before the answer: SQuAD's answer_start counts
// code points (Python's indices), two fewer here than JavaScript's UTF-16 indices.
const emojiContext = 'Call us 📞 on weekdays. The office 🏢 opens at 9 am and closes at 5 pm.'
const emoji = { context: emojiContext, qas: [{ id: 'emoji', question: 'When does the office open?', answers: [{ text: '9 am', answer_start: [...emojiContext.slice(0, emojiContext.indexOf('9 am'))].length }] }] }
/** Code points before UTF-16 index `u` of `text`. */
const codePoints = (text: string, u: number): number => [...text.slice(0, u)].length

const errorText = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    if (isTunekitError(e)) return e.issues.map((i) => `${i.code} ${i.message} → at ${i.path}`).join('\n')
    throw e
  }
  throw new Error('expected a TunekitError')
}

describe('extractive QA data', () => {
  it("cuts windows and labels them as run_qa.py's prepare_train_features does with the fast tokenizer", async () => {
    const { examples, version } = readQaExamples(v2Json(), 'v2.json')
    expect(version).toBe('2.0')
    const encoder = wordPieceEncoder(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as WordPieceJson, 'tokenizer.json')
    const options = { maxLength: 48, docStride: 16 }
    const ours = qaTrainFeatures(examples, encoder, options)
    // Python reads answer_start and gives offsets in code points; tunekit's are string indices
    const asFiled = examples.map((e) => ({ ...e, answers: { text: e.answers.text, answer_start: e.answers.answer_start.map((u) => codePoints(e.context, u)) } }))
    const py = JSON.parse(execFileSync(workerPython(), ['-c', PY, dir], { input: JSON.stringify({ examples: asFiled, ...options }), encoding: 'utf8', env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error' } })) as unknown[]
    // (context tokens: type id 1; the questions here are all in the Basic Multilingual Plane)
    const inCodePoints = ours.map((f) => ({ ...f, offsets: f.offsets.map(([a, b], k) => (f.typeIds[k] === 1 ? [codePoints(examples[f.example]!.context, a), codePoints(examples[f.example]!.context, b)] : [a, b])) }))
    expect(inCodePoints.map(({ example, ids, typeIds, offsets, startPosition, endPosition }) => ({ example, ids, typeIds, offsets, startPosition, endPosition }))).toEqual(py)
    const e9 = examples.find((e) => e.id === 'emoji')!
    expect(e9.context.slice(e9.answers.answer_start[0], e9.answers.answer_start[0]! + 4)).toBe('9 am')
    expect(ours.some((f) => f.exampleId === 'emoji' && f.startPosition > 0)).toBe(true)
    // what the comparison covers: several windows per long context, answers inside and outside a window, the null answer
    const windows = ours.filter((f) => f.example === 0).length
    const inside = ours.filter((f) => f.startPosition > 0).length
    const atCls = ours.filter((f) => f.startPosition === 0).length
    console.log(`qa features: ${ours.length} windows of ${examples.length} questions (${windows} for a long context), ${inside} with the answer inside, ${atCls} at [CLS]`)
    expect(windows).toBeGreaterThanOrEqual(3)
    expect(inside).toBeGreaterThan(10)
    expect(atCls).toBeGreaterThan(10)
    expect(ours.filter((f) => f.exampleId === 'no-answer').every((f) => f.startPosition === 0 && f.endPosition === 0)).toBe(true)
    // a labelled span decodes to the answer's characters
    const f = ours.find((x) => x.startPosition > 0)!
    const e = examples[f.example]!
    expect(e.context.slice(f.offsets[f.startPosition]![0], f.offsets[f.endPosition]![1])).toBe(e.answers.text[0])
  })

  it('reads SQuAD v1.1 JSON and flat records with the same fields to the same examples', () => {
    const json = faqSquadJson({ seed: 2, paragraphs: 3 })
    const fromJson = readQaExamples(json, 'train.json')
    const flat = fromJson.examples.map((e) => ({ id: e.id, title: e.title, question: e.question, context: e.context, answers: { text: e.answers.text, answer_start: e.answers.answer_start } }))
    expect(readQaExamples(flat, 'train.jsonl')).toEqual(fromJson)
    expect(fromJson.version).toBe('1.1')
    expect(fromJson.examples).toHaveLength(18)
  })

  it('names the question whose answer is not in its context, and unanswerable questions outside v2.0', () => {
    const base: QaExample = { id: 'q1', question: 'When?', context: 'Open from 9 am to 5 pm.', answers: { text: ['9 am to 5 pm'], answer_start: [10] } }
    const records = [base, { ...base, id: 'q2', answers: { text: ['9 am'], answer_start: [3] } }, { ...base, id: 'q3', answers: { text: [], answer_start: [] } }, { id: 'q4', question: 'x' }]
    expect(errorText(() => readQaExamples(records, 'train.jsonl'))).toMatchInlineSnapshot(`
      "TK290 train.jsonl[3]: no string "context" → at train.jsonl[3]
      TK291 question "q2": the answer "9 am" is not the context at answer_start 3, which reads "n fr" → at question q2: answers[0]
      TK292 question "q3" has no answer (or is_impossible: true), which SQuAD v1.1 does not allow → at question q3"
    `)
    expect(readQaExamples(records.slice(0, 1).concat(records[2]!), 'train.jsonl', '2.0').examples).toHaveLength(2)
  })

  it('refuses a question that leaves no room for context, and a stride that would not advance', async () => {
    const encoder = wordPieceEncoder(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as WordPieceJson, 'tokenizer.json')
    const e: QaExample = { id: 'long-q', question: paragraphs[0]!.context, context: paragraphs[1]!.context, answers: { text: [], answer_start: [] } }
    expect(errorText(() => qaTrainFeatures([e], encoder, { maxLength: 16, docStride: 4 }))).toMatchInlineSnapshot(`"TK293 question "long-q" is 51 tokens, so [CLS] question [SEP] … [SEP] leaves no context token within maxLength 16 → at question long-q"`)
    expect(errorText(() => qaTrainFeatures([{ ...e, id: 'short-q', question: 'When?' }], encoder, { maxLength: 24, docStride: 20 }))).toMatchInlineSnapshot(`"TK294 question "short-q": docStride 20 is not smaller than the 19 context tokens a window holds, so windows would not advance → at data.docStride"`)
  })
})
