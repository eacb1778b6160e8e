/**
 * Writes recipes/hotel-tokenizer/: a byte-level BPE made for the hotel dialogues, so that slot
 * values and JSON keys are one or two tokens and the vocabulary-sized head costs little. The
 * corpus is `hotelDialogues` text rendered with ChatML (the tool preamble and the <tool_call>
 * blocks included) from seeds the recipe does not train or score on; Python's `tokenizers`
 * trains the BPE (train-bpe.py). The dialogues' entities (every slot value and hotel name,
 * `hotelEntities`) are added tokens, one id each, so a value is the same single token in the
 * user's request and in the call: a domain vocabulary, as entity tokens are. The output is
 * committed; the recipe only reads it.
 *
 * Run: TUNEKIT_PYTHON=/path/to/python npx tsx recipes/hotel-tokenizer/make.ts
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { chatTemplate, parseSharegpt, renderChat } from '@tunekit/data'
import { hotelDialogues, hotelEntities, searchHotelsTool } from '@tunekit/recipes'

/** Tokens in the trained vocabulary, before ChatML's two are added. */
const VOCAB_SIZE = Number(process.env.HOTEL_VOCAB ?? 1000)
/** Seeds of the corpus: not 0, the recipe's. */
const SEEDS = [101, 102]

const template = chatTemplate('chatml', { bosToken: '<s>', eosToken: '<|im_end|>' })
const documents: string[] = []
for (const seed of SEEDS) {
  for (const [i, record] of hotelDialogues({ seed, count: 500 }).entries()) {
    const parsed = parseSharegpt(record)
    if (parsed.kind !== 'conversation') throw new Error(`record ${i}: not a conversation`)
    // ChatML's specials are added by the recipe, not learned: leave them out of the corpus.
    const text = renderChat(template, parsed.messages, false, parsed.tools)
    documents.push(...text.split(/<\|im_start\|>|<\|im_end\|>/).filter((part) => part.trim() !== ''))
  }
}
// Each argument's key with the JSON around it, as the template writes a call (`"subway": "`), is one
// token too: the position that predicts a value is then that slot's own token, and copying the
// request's value of that slot is one attention lookup. With the bare key (`subway`, `":`, ` "`)
// the value is predicted at a ` "` shared by every slot, which must first fetch which key came
// two tokens before: a two-layer circuit this model had not formed by step 600 (slot F1 47 held out,
// 100 on the train dialogues; docs/evaluation.md).
const callKeys = Object.keys(searchHotelsTool.function.parameters.properties).map((key) => `"${key}": "`)
const here = fileURLToPath(new URL('.', import.meta.url))
const python = process.env.TUNEKIT_PYTHON ?? 'python3'
const input = documents.map((d) => JSON.stringify(d)).join('\n') + '\n'
process.stdout.write(execFileSync(python, [`${here}train-bpe.py`, here, String(VOCAB_SIZE), JSON.stringify([...hotelEntities(), ...callKeys])], { input }))
