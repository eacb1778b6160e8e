// Hostile data inputs, fed as a user would: a recipe file with file(...) data, run by the real CLI
// up to tokenize. Each case is generated here in a temp folder. A user's mistake must be a catalog
// error (exit 1) naming the code, the place and the value, raised before compute where the
// listing can tell (no node started), and leave nothing partial behind; an odd but valid input
// must be accepted. One model artifact is shared: every case uses the same cache.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { tinyTokenizer } from '../data/helpers.ts'
import { cli, eventsOf, failedNode, partialArtifacts } from './helpers.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'tunekit-hostile-'))
const cache = join(root, 'cache')
const tokenizer = join(root, 'tokenizer')
cpSync(tinyTokenizer, tokenizer, { recursive: true })
process.env.HF_HOME = join(root, 'hf')

const line = (record: unknown): string => `${JSON.stringify(record)}\n`
const alpaca = (instruction: string, output: unknown): string => line({ instruction, output })
const good = alpaca('Opposite of hot?', 'cold') + alpaca('Opposite of up?', 'down')

/** A tiny random-model recipe (the tiny test tokenizer, hidden 64) whose data group is `data`. */
const recipe = (data: string, cacheDir = cache): string => `import { defineRecipe, file } from '@tunekit/core'
export const recipe = defineRecipe({
  name: 'hostile',
  model: { id: 'tiny', family: 'mistral', random: { tokenizer: ${JSON.stringify(tokenizer)}, config: { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 384 } } },
  tokens: { chatml: true },
  lora: { modulesToSave: ['embed_tokens', 'lm_head'] },
  data: { ${data}, maxLength: 64, split: { eval: 0 } },
  args: { maxSteps: 2 },
  output: { cacheDir: ${JSON.stringify(cacheDir)}, dir: 'run' },
})
`

interface Case {
  name: string
  /** Writes the data into the case folder. */
  write: (dir: string) => void
  /** The recipe's data group (TypeScript), without maxLength and split. */
  data: string
  /** The catalog code of the error, or 'ok' for an input that must be accepted. */
  code: string
  /** The node that fails, or 'before any node' when compile or the pre-run check catches it. */
  at?: string
  /** What the error text (or, for 'ok', the output) must say. */
  says: string[]
}

const w = (dir: string, name: string, content: string | Uint8Array): void => {
  mkdirSync(join(dir, name, '..'), { recursive: true })
  writeFileSync(join(dir, name), content)
}
const before = 'before any node'
const info = (entry: object): string => JSON.stringify({ mine: entry })

const cases: Case[] = [
  // ── 1. symbolic links ─────────────────────────────────────────────────────────────────────
  {
    name: 'a data folder holding a link to itself',
    write: (d) => (w(d, 'data/a.jsonl', good), symlinkSync('.', join(d, 'data/loop'))),
    data: "source: file('data'), format: 'alpaca'",
    code: 'TK312', at: before, says: ['data/loop" is a symbolic link that loops back', '→ at data.source.path'],
  },
  {
    name: 'a data file that is a link to itself',
    write: (d) => symlinkSync('self.jsonl', join(d, 'self.jsonl')),
    data: "source: file('self.jsonl'), format: 'alpaca'",
    code: 'TK312', at: before, says: ['self.jsonl" is a symbolic link that loops back (it resolves through self.jsonl back to itself)'],
  },
  {
    name: 'a data link in a folder that points nowhere',
    write: (d) => (w(d, 'data/a.jsonl', good), symlinkSync('gone.jsonl', join(d, 'data/b.jsonl'))),
    data: "source: file('data'), format: 'alpaca'",
    code: 'TK323', at: before, says: ['data/b.jsonl" is a symbolic link to "gone.jsonl", which does not exist'],
  },
  // ── 2. files that cannot be read ───────────────────────────────────────────────────────────
  {
    name: 'a FIFO named like a data file',
    write: (d) => execFileSync('mkfifo', [join(d, 'pipe.jsonl')]),
    data: "source: file('pipe.jsonl'), format: 'alpaca'",
    code: 'TK313', at: before, says: ['pipe.jsonl" cannot be read: it is a FIFO (named pipe)'],
  },
  {
    name: 'a .parquet file that is not parquet',
    write: (d) => w(d, 'd.parquet', 'instruction,output\nhi,there\n'),
    data: "source: file('d.parquet'), format: 'alpaca'",
    code: 'TK315', at: 'source', says: ['d.parquet": not a readable parquet file'],
  },
  // ── 3. huge records ────────────────────────────────────────────────────────────────────────
  {
    name: 'an 8 MB answer with truncation truncate (kept: the first 64 tokens)',
    write: (d) => w(d, 'd.jsonl', alpaca('Say x', 'x'.repeat(8 << 20)) + good),
    data: "source: file('d.jsonl'), format: 'alpaca'",
    code: 'ok', says: ['maxLength 64 (truncate): 1 truncated, 0 dropped', 'longest 64'],
  },
  {
    name: 'every sample longer than maxLength with truncation drop',
    write: (d) => w(d, 'd.jsonl', alpaca('Say x', 'x'.repeat(8 << 20)) + alpaca('Say y', 'y '.repeat(200))),
    data: "source: file('d.jsonl'), format: 'alpaca', truncation: 'drop'",
    code: 'TK319', at: 'tokenize', says: ["truncation 'drop' left out all 2 sample(s): each is longer than data.maxLength 64", '→ at data.maxLength', 'value: 64'],
  },
  // ── 4. wrong types in records ──────────────────────────────────────────────────────────────
  {
    name: 'a number where alpaca needs text',
    write: (d) => w(d, 'd.jsonl', alpaca('Six times seven?', 42)),
    data: "source: file('d.jsonl'), format: 'alpaca'",
    code: 'TK303', at: 'format', says: ['d.jsonl line 1: field "output" is a number (42), not text'],
  },
  {
    name: 'an empty answer',
    write: (d) => w(d, 'd.jsonl', good + alpaca('Opposite of in?', '')),
    data: "source: file('d.jsonl'), format: 'alpaca'",
    code: 'TK303', at: 'format', says: ['d.jsonl line 3: field "output" is empty'],
  },
  {
    name: 'a sharegpt turn whose value is a number',
    write: (d) => w(d, 'd.jsonl', line({ conversations: [{ from: 'human', value: 'Six times seven?' }, { from: 'gpt', value: 42 }] })),
    data: "source: file('d.jsonl'), format: 'sharegpt'",
    code: 'TK303', at: 'format', says: ['d.jsonl line 1: turn 2\'s "value" is a number (42), not text'],
  },
  {
    name: 'an openai message that is a string',
    write: (d) => w(d, 'd.jsonl', line({ messages: ['hello', { role: 'assistant', content: 'hi' }] })),
    data: "source: file('d.jsonl'), format: 'openai'",
    code: 'TK303', at: 'format', says: ['d.jsonl line 1: message 1 is a string ("hello"), not an object'],
  },
  {
    name: 'an openai content that is an object',
    write: (d) => w(d, 'd.jsonl', line({ messages: [{ role: 'user', content: { text: 'hi' } }, { role: 'assistant', content: 'hello' }] })),
    data: "source: file('d.jsonl'), format: 'openai'",
    code: 'TK303', at: 'format', says: ['d.jsonl line 1: message 1\'s content is an object with "text", not text'],
  },
  // ── 5. encodings ───────────────────────────────────────────────────────────────────────────
  {
    name: 'Latin-1 text in a JSONL file',
    write: (d) => w(d, 'd.jsonl', Buffer.concat([Buffer.from(good), Buffer.from('{"instruction":"caf'), Buffer.from([0xe9]), Buffer.from('?","output":"x"}\n')])),
    data: "source: file('d.jsonl'), format: 'alpaca'",
    code: 'TK314', at: 'source', says: [`d.jsonl" is not valid UTF-8: byte offset ${good.length + 19} (line 3) holds 0xE9 0x3F 0x22 0x2C`],
  },
  {
    name: 'Latin-1 text in a CSV file',
    write: (d) => w(d, 'd.csv', Buffer.concat([Buffer.from('instruction,output\nna'), Buffer.from([0xef, 0x76]), Buffer.from('e,x\n')])),
    data: "source: file('d.csv'), format: 'alpaca'",
    code: 'TK314', at: 'source', says: ['d.csv" is not valid UTF-8: byte offset 21 (line 2) holds 0xEF 0x76'],
  },
  {
    name: 'a UTF-8 BOM on line 1 of a JSONL file',
    write: (d) => w(d, 'd.jsonl', `\uFEFF${good}`),
    data: "source: file('d.jsonl'), format: 'alpaca'",
    code: 'ok', says: ['2 samples'],
  },
  {
    name: 'a UTF-8 BOM and CRLF line ends in a CSV file',
    write: (d) => w(d, 'd.csv', '\uFEFFinstruction,output\r\nOpposite of hot?,cold\r\n"Opposite of ""up""?",down\r\n'),
    data: "source: file('d.csv'), format: 'alpaca'",
    code: 'ok', says: ['2 samples'],
  },
  // ── 6. dataset_info.json ───────────────────────────────────────────────────────────────────
  {
    name: 'a dataset_info file_name that climbs out of its folder',
    write: (d) => (w(d, 'data/dataset_info.json', info({ file_name: '../../etc/passwd' })), w(d, 'data/a.json', '[]')),
    data: "source: file('data'), format: { kind: 'dataset-info', file: 'data/dataset_info.json', name: 'mine' }",
    code: 'TK316', at: before, says: ['entry "mine" has file_name "../../etc/passwd", which leads outside', '→ at data.format.name'],
  },
  {
    name: 'a dataset_info file_name that is an absolute path',
    write: (d) => (w(d, 'data/dataset_info.json', info({ file_name: '/etc/passwd' })), w(d, 'data/a.json', '[]')),
    data: "source: file('data'), format: { kind: 'dataset-info', file: 'data/dataset_info.json', name: 'mine' }",
    code: 'TK316', at: before, says: ['entry "mine" has file_name "/etc/passwd", an absolute path'],
  },
  {
    name: "a dataset_info formatting 'xml'",
    write: (d) => (w(d, 'data/dataset_info.json', info({ file_name: 'a.jsonl', formatting: 'xml' })), w(d, 'data/a.jsonl', good)),
    data: "source: file('data'), format: { kind: 'dataset-info', file: 'data/dataset_info.json', name: 'mine' }",
    code: 'TK318', at: before, says: ['dataset_info.json" entry "mine": formatting "xml" is not one of "alpaca", "sharegpt"'],
  },
  {
    name: 'a dataset_info file_name that the source does not read',
    write: (d) => (w(d, 'data/dataset_info.json', info({ file_name: 'b.jsonl' })), w(d, 'data/b.jsonl', good), w(d, 'other/a.jsonl', good)),
    data: "source: file('other'), format: { kind: 'dataset-info', file: 'data/dataset_info.json', name: 'mine' }",
    code: 'TK317', at: before, says: ['entry "mine" names the data file', 'data/b.jsonl", which data.source does not read (it reads', 'other/a.jsonl'],
  },
  {
    name: 'a dataset_info file_name picking one file of the folder',
    write: (d) => (w(d, 'data/dataset_info.json', info({ file_name: 'b.jsonl', columns: { prompt: 'q', response: 'a' } })), w(d, 'data/a.jsonl', 'not even json\n'), w(d, 'data/b.jsonl', line({ q: 'Opposite of hot?', a: 'cold' }))),
    data: "source: file('data'), format: { kind: 'dataset-info', file: 'data/dataset_info.json', name: 'mine' }",
    code: 'ok', says: ['1 samples'],
  },
  // ── 7. file shapes and JSON syntax ─────────────────────────────────────────────────────────
  {
    name: 'a .json file holding one object',
    write: (d) => w(d, 'd.json', JSON.stringify({ instruction: 'Opposite of hot?', output: 'cold' })),
    data: "source: file('d.json'), format: 'alpaca'",
    code: 'TK315', at: 'source', says: ['d.json": expected an array of records (or { "data": [...] }), found an object with "instruction", "output"'],
  },
  {
    name: 'a truncated .json file',
    write: (d) => w(d, 'd.json', '[\n  {"instruction": "Opposite of hot?", "output": "cold"},\n  {"instruction": "Opposite of up?", "outp'),
    data: "source: file('d.json'), format: 'alpaca'",
    code: 'TK315', at: 'source', says: ['d.json" line 3 column 43: malformed JSON (Unterminated string); the text ends before the JSON does: is the file truncated?'],
  },
  {
    name: 'a malformed JSONL line',
    write: (d) => w(d, 'd.jsonl', `${good}{"instruction": "x" "output": "y"}\n`),
    data: "source: file('d.jsonl'), format: 'alpaca'",
    code: 'TK303', at: 'format', says: ["d.jsonl line 3: malformed JSON (Expected ',' or '}' after property value at column 21)"],
  },
  {
    name: 'a JSONL line holding an array',
    write: (d) => w(d, 'd.jsonl', `${good}["Opposite of in?", "out"]\n`),
    data: "source: file('d.jsonl'), format: 'alpaca'",
    code: 'TK303', at: 'format', says: ['d.jsonl line 3: expected a JSON object, got an array of 2'],
  },
  {
    name: 'blank and whitespace lines between records',
    write: (d) => w(d, 'd.jsonl', `\n\n${alpaca('Opposite of hot?', 'cold')}   \n\t\n${alpaca('Opposite of up?', 'down')}\n\n`),
    data: "source: file('d.jsonl'), format: 'alpaca'",
    code: 'ok', says: ['2 samples'],
  },
  // ── CSV oddities ───────────────────────────────────────────────────────────────────────────
  {
    name: 'a CSV quoted field that never closes',
    write: (d) => w(d, 'd.csv', 'instruction,output\nOpposite of hot?,cold\n"Opposite of up?,down\nOpposite of in?,out\n'),
    data: "source: file('d.csv'), format: 'alpaca'",
    code: 'TK303', at: 'format', says: ['d.csv line 3: a quoted field is never closed'],
  },
  {
    name: 'a CSV row with an extra column',
    write: (d) => w(d, 'd.csv', 'instruction,output\nOpposite of hot?,cold\nOpposite of up?,down,left\n'),
    data: "source: file('d.csv'), format: 'alpaca'",
    code: 'TK303', at: 'format', says: ['d.csv line 3: expected 2 columns, found 3'],
  },
  // ── 8. nothing to read ─────────────────────────────────────────────────────────────────────
  {
    name: 'an empty data folder',
    write: (d) => mkdirSync(join(d, 'data')),
    data: "source: file('data'), format: 'alpaca'",
    code: 'TK320', at: before, says: ['data" holds no data file (it is empty); tunekit reads .json, .jsonl, .ndjson, .csv and .parquet files'],
  },
  {
    name: 'a data folder of text files only',
    write: (d) => (w(d, 'data/notes.txt', 'hi'), w(d, 'data/README.md', '# data')),
    data: "source: file('data'), format: 'alpaca'",
    code: 'TK320', at: before, says: ['holds no data file (it holds "README.md", "notes.txt")'],
  },
  {
    name: 'an empty folder named like a data file',
    write: (d) => mkdirSync(join(d, 'd.jsonl')),
    data: "source: file('d.jsonl'), format: 'alpaca'",
    code: 'TK320', at: before, says: ['d.jsonl" holds no data file (it is empty)'],
  },
  {
    name: 'an empty JSONL file',
    write: (d) => w(d, 'd.jsonl', ''),
    data: "source: file('d.jsonl'), format: 'alpaca'",
    code: 'TK321', at: 'source', says: ['d.jsonl" holds no record'],
  },
  {
    name: 'a list of files with one missing',
    write: (d) => w(d, 'a.jsonl', good),
    data: "source: file(['a.jsonl', 'b.jsonl']), format: 'alpaca'",
    code: 'TK311', at: before, says: ['b.jsonl" does not exist → at data.source.path[1]', 'value: "b.jsonl"'],
  },
  {
    name: 'a data file whose type its name does not tell',
    write: (d) => w(d, 'd.dat', good),
    data: "source: file('d.dat'), format: 'alpaca'",
    code: 'TK322', at: 'source', says: ['cannot tell the type of', "file('data.dat', { type: 'jsonl' })"],
  },
  {
    name: 'truncation drop and a sample far longer than maxLength among short ones',
    write: (d) => w(d, 'd.jsonl', alpaca('Say x', 'x'.repeat(8 << 20)) + good),
    data: "source: file('d.jsonl'), format: 'alpaca', truncation: 'drop'",
    code: 'ok', says: ['0 truncated, 1 dropped', '2 samples'],
  },
]

/** Outcome per case, for the count per class at the end. */
const outcomes: Record<string, string> = {}
afterAll(() => rmSync(root, { recursive: true, force: true }))

const show = (text: string, dir: string): string => text.replaceAll(dir, '$CASE').replaceAll(root, '$ROOT')

describe('hostile data inputs through tunekit run --until tokenize', () => {
  it.each(cases.map((c, i) => [`${String(i + 1).padStart(2, '0')} ${c.name}`, c] as const))('%s', async (_, c) => {
    const dir = mkdtempSync(join(root, 'case-'))
    c.write(dir)
    writeFileSync(join(dir, 'recipe.mts'), recipe(c.data))
    const r = await cli(dir, 'run', 'recipe.mts', '--until', 'tokenize', '--json')
    const events = eventsOf(r.out)
    const failed = failedNode(events)
    if (c.code === 'ok') {
      expect(r.err, show(r.err, dir)).toBe('')
      expect(r.code).toBe(0)
      const checks = events.filter((e) => e.type === 'log').map((e) => (e as { message?: string }).message ?? '').join('\n')
      for (const text of c.says) expect(checks).toContain(text)
    } else {
      expect(r.code, show(r.err, dir)).toBe(1)
      expect(show(r.err, dir)).toContain(`✖ ${c.code} `)
      for (const text of c.says) expect(show(r.err, dir)).toContain(text)
      expect(r.err).toContain('fix: ')
      expect(r.err).not.toMatch(/\n\s+at .*\.ts:\d+/) // no stack trace
      expect(failed?.node ?? before).toBe(c.at)
      if (failed) {
        expect(existsSync(join(cache, failed.key))).toBe(false)
        expect(events.find((e) => e.type === 'run-end')).toMatchObject({ ok: false, code: c.code })
      }
    }
    expect(partialArtifacts(cache, dir)).toEqual([])
    outcomes[c.name] = c.code === 'ok' ? 'accepted (exit 0)' : `${c.code} ${c.at === before ? 'before any node' : `in ${c.at}`}`
  })

  it('a data file this user may not read (chmod 000) is DataFileUnreadable, before any node', () => {
    // Root reads any file: as root the CLI runs without the two capabilities that let it
    // (setpriv drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), so permissions apply as to any
    // user while the checkout stays readable wherever it lives.
    const dir = mkdtempSync(join(root, 'case-'))
    const own = join(dir, 'cache')
    w(dir, 'd.jsonl', good)
    chmodSync(join(dir, 'd.jsonl'), 0o000)
    writeFileSync(join(dir, 'recipe.mts'), recipe("source: file('d.jsonl'), format: 'alpaca'", own))
    const cli = [process.execPath, join(repo, 'packages/cli/bin/tunekit.js'), 'run', 'recipe.mts', '--until', 'tokenize']
    const [command, ...args] = process.getuid?.() === 0 ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', ...cli] : cli
    const r = spawnSync(command!, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, HOME: dir, NO_COLOR: '1' } })
    expect(r.status, r.stderr).toBe(1)
    expect(show(r.stderr, dir)).toContain('✖ TK313 "$CASE/d.jsonl" cannot be read: permission denied → at data.source.path')
    expect(r.stdout).not.toContain('node-start')
    expect(existsSync(own) ? partialArtifacts(own, dir) : []).toEqual([])
    outcomes['a data file the user may not read'] = 'TK313 before any node'
  })

  it('the corpus, by outcome class', () => {
    const count: Record<string, number> = {}
    for (const o of Object.values(outcomes)) count[o] = (count[o] ?? 0) + 1
    expect(Object.keys(outcomes)).toHaveLength(cases.length + 1)
    expect(cases.length + 1).toBeGreaterThanOrEqual(22)
    expect(Object.fromEntries(Object.entries(count).sort())).toMatchInlineSnapshot(`
      {
        "TK303 in format": 9,
        "TK311 before any node": 1,
        "TK312 before any node": 2,
        "TK313 before any node": 2,
        "TK314 in source": 2,
        "TK315 in source": 3,
        "TK316 before any node": 2,
        "TK317 before any node": 1,
        "TK318 before any node": 1,
        "TK319 in tokenize": 1,
        "TK320 before any node": 3,
        "TK321 in source": 1,
        "TK322 in source": 1,
        "TK323 before any node": 1,
        "accepted (exit 0)": 6,
      }
    `)
  })
})

