// `tunekit ask`: a BertForQuestionAnswering folder (a tiny random BERT with a WordPiece tokenizer
// built from the context) answers a question about a context given as text or @file; the answer
// printed is the span of the context that --json locates, and the catalog's errors.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '@tunekit/cli'
import { writeWordPieceTokenizer } from '@tunekit/data'
import { configFromJson, createRandomModel } from '@tunekit/hf'

const context = 'The help line is open from nine to five on weekdays. Call the front desk to reset a password. Parking is free for visitors on the second floor.'
let cwd: string
let model: string

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'tunekit-ask-'))
  model = join(cwd, 'qa-model')
  const tokenizer = join(cwd, 'tokenizer')
  await writeWordPieceTokenizer(tokenizer, [context, 'When is the help line open?'], { vocabSize: 120, modelMaxLength: 64 })
  const config = configFromJson({ model_type: 'bert', architectures: ['BertForQuestionAnswering'], vocab_size: 120, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 }, 'bert', 'test')
  await createRandomModel(model, { family: 'bert', config, seed: 0, tokenizer })
  writeFileSync(join(cwd, 'context.txt'), context)
})

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(args, { cwd, out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

describe('tunekit ask', () => {
  it('prints the answer span of the context, from text or @file, and --json locates it', async () => {
    const question = ['--question', 'When is the help line open?', '--device', 'cpu']
    const text = await cli('ask', 'qa-model', '--context', context, ...question)
    expect(text.code).toBe(0)
    const answer = text.out.trimEnd()
    expect(answer.length).toBeGreaterThan(0)
    expect(context).toContain(answer)
    const json = await cli('ask', 'qa-model', '--context', '@context.txt', '--top-k', '3', '--json', ...question)
    expect(json.code).toBe(0)
    const answers = JSON.parse(json.out) as Array<{ answer: string; score: number; start: number; end: number }>
    expect(answers).toHaveLength(3)
    expect(answers[0]!.answer).toBe(answer) // the same answer from the file as from the text
    for (const a of answers) expect(context.slice(a.start, a.end)).toBe(a.answer)
    expect(answers.map((a) => a.score)).toEqual([...answers.map((a) => a.score)].sort((x, y) => y - x))
  })

  it('a missing context file and a folder without tokenizer.json are user errors', async () => {
    const missing = await cli('ask', 'qa-model', '--context', '@nowhere.txt', '--question', 'Why?')
    expect(missing.code).toBe(1)
    expect(missing.err).toMatchInlineSnapshot(`
      "The context file to ask about does not exist
      ✖ TK716 --context @nowhere.txt: no such file → at --context
        value: "@nowhere.txt"
        fix: Give the context as text (--context "…"), or @ followed by the path of a text file that exists.
      "
    `)
    cpSync(model, join(cwd, 'no-tokenizer'), { recursive: true })
    rmSync(join(cwd, 'no-tokenizer', 'tokenizer.json'))
    const bare = await cli('ask', 'no-tokenizer', '--context', context, '--question', 'Why?', '--device', 'cpu')
    expect(bare.code).toBe(1)
    expect(bare.err.replaceAll(cwd, '$CWD')).toMatchInlineSnapshot(`
      "The folder to ask holds no tokenizer.json
      ✖ TK715 "$CWD/no-tokenizer" holds no tokenizer.json, so \`tunekit ask\` cannot window the question and context → at $CWD/no-tokenizer
        value: "$CWD/no-tokenizer/tokenizer.json"
        fix: Pass the folder a qa run trained (the qa-train artifact, .tunekit/cache/<qa-train key>), or copy the model's tokenizer.json into it.
      "
    `)
  })
})
