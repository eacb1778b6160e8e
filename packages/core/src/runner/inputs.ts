import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { NodeContext } from '../backend.ts'
import type { NodeKind } from '../nodes/index.ts'

// How an executor finds what its inputs wrote: one implementation each, for every package.

/**
 * The artifact folder of the node's input of `kind`, or undefined when it has none. Inputs are
 * found by kind, not id: the eval chain's nodes have ids like `eval-format`.
 */
export function findInputOfKind(ctx: Pick<NodeContext, 'node' | 'graph' | 'input'>, kind: NodeKind): string | undefined {
  const id = ctx.node.inputs.find((i) => ctx.graph.nodes.find((n) => n.id === i)?.kind === kind)
  return id === undefined ? undefined : ctx.input(id)
}

/** The artifact folder of the node's input of `kind`; a graph without one is a bug in compile. */
export function inputOfKind(ctx: Pick<NodeContext, 'node' | 'graph' | 'input'>, kind: NodeKind): string {
  const dir = findInputOfKind(ctx, kind)
  if (dir === undefined) throw new Error(`node ${ctx.node.id} has no ${kind} input (inputs: ${ctx.node.inputs.join(', ')})`)
  return dir
}

/** The `model` artifact's pointer to existing weights: `{ "path": abs folder }`. */
export const MODEL_REF = 'model-ref.json'

/** The Hugging Face folder of a `model` artifact: the folder model-ref.json names, or the artifact itself (a random model). */
export async function resolveModelDir(artifactDir: string): Promise<string> {
  const ref = await readFile(join(artifactDir, MODEL_REF), 'utf8').catch(() => undefined)
  if (ref === undefined) return artifactDir
  const { path } = JSON.parse(ref) as { path: string }
  return path
}

/** The embedding rows `trainableTokens` trains, as the tokenize node resolved them (its index.json). */
export async function readTrainableTokenIds(tokenizeDir: string): Promise<number[]> {
  // a preference tokenize artifact holds its shard sets in pairs/ and unpaired/, each index with the ids
  const file = await firstExisting([join(tokenizeDir, 'index.json'), join(tokenizeDir, 'pairs', 'index.json'), join(tokenizeDir, 'unpaired', 'index.json')])
  const index = JSON.parse(await readFile(file, 'utf8')) as { trainableTokenIds?: number[] }
  if (!index.trainableTokenIds) throw new Error(`${tokenizeDir}/index.json has no trainableTokenIds (written by an older tunekit; its key would differ)`)
  return index.trainableTokenIds
}

async function firstExisting(paths: readonly string[]): Promise<string> {
  for (const path of paths) if (await stat(path).then(() => true, () => false)) return path
  return paths[0]!
}
