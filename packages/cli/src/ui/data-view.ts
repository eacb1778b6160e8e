// The data as the model sees it: the first samples of the run's tokenize artifact, token by
// token, each marked trained (a label: mask 1) or masked, with the tokenize checks (report.json,
// the table `tunekit run` prints) and the chat template the text was rendered with. Read from the
// cache entry the run's graph.json names, never from a path a request sends.
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { artifactDir, isCached, type Graph } from '@tunekit/core'
import { checkRows, formatChecks, loadTokenizer, readShards, sampleOf, type CheckRow, type TokenizeReport } from '@tunekit/data'

/** Samples shown, and the tokens shown of each (decoding token by token is quadratic in length). */
const SAMPLES = 6
const TOKENS = 256

/** One token of a sample: its text (decoded in context, so spaces stay) and whether it is a label. */
export interface ViewToken {
  text: string
  trained: boolean
}

export type DataView =
  | { ready: false; reason: string }
  | { ready: true; checks: CheckRow[]; text: string; template: string | null; samples: { tokens: ViewToken[]; length: number }[] }

/** The tokens of one sample with their labels, each token's text the growth of the decoded prefix. */
function viewTokens(decode: (ids: readonly number[]) => string, ids: ArrayLike<number>, mask: ArrayLike<number>): ViewToken[] {
  const shown = Array.from(ids).slice(0, TOKENS)
  const out: ViewToken[] = []
  let before = ''
  for (let i = 0; i < shown.length; i++) {
    const text = decode(shown.slice(0, i + 1))
    out.push({ text: text.startsWith(before) ? text.slice(before.length) : decode([shown[i]!]), trained: mask[i] === 1 })
    before = text
  }
  return out
}

/** The data view of a run folder (its graph.json and recipe.json's cache folder, relative to `root`). */
export async function dataView(root: string, runDir: string): Promise<DataView> {
  const graph = JSON.parse(readFileSync(join(runDir, 'graph.json'), 'utf8')) as Graph
  const recipe = JSON.parse(readFileSync(join(runDir, 'recipe.json'), 'utf8')) as { output: { cacheDir: string } }
  const cacheDir = resolve(root, recipe.output.cacheDir)
  const node = graph.nodes.find((n) => n.kind === 'tokenize')
  if (!node) return { ready: false, reason: 'this recipe has no tokenize node' }
  if (!isCached(cacheDir, node.key)) return { ready: false, reason: 'the tokenize node has not run yet' }
  const dir = artifactDir(cacheDir, node.key)
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as TokenizeReport
  const rows = checkRows(report)
  const template = existsSync(join(dir, 'chat_template.jinja')) ? readFileSync(join(dir, 'chat_template.jinja'), 'utf8') : null
  // Preference and QA artifacts keep their samples in other layouts: their checks only.
  if (!existsSync(join(dir, 'ids.bin'))) return { ready: true, checks: rows, text: formatChecks(rows), template, samples: [] }
  const [shards, tokenizer] = await Promise.all([readShards(dir), loadTokenizer(join(dir, 'tokenizer'))])
  const samples = Array.from({ length: Math.min(SAMPLES, shards.index.count) }, (_, i) => {
    const { ids, mask } = sampleOf(shards, i)
    return { tokens: viewTokens(tokenizer.decode, ids, mask), length: ids.length }
  })
  return { ready: true, checks: rows, text: formatChecks(rows), template, samples }
}
