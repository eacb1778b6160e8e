import type { Recipe } from '../define.ts'
import { rethrowFileError } from '../fs/file-issue.ts'
import { nodes, type NodeKind, type NodeParams } from '../nodes/index.ts'
import type { CompileOptions } from './options.ts'
import type { FileHasher } from './hash.ts'
import { toJson } from './hash.ts'
import type { GraphNode, Json, NodeRead } from './types.ts'
import { nodeKey } from './key.ts'

/** What a stage (or another contribution to the graph) adds nodes with. */
export interface GraphBuilder {
  readonly recipe: Recipe
  /** Where relative paths resolve and where models are looked up (for the files nodes read). */
  readonly options: CompileOptions
  /**
   * Adds a node of `kind` after `inputs` (node ids, already added). Its params are the kind's fill
   * function applied to the recipe unless `params` are given (the eval chain's source); they are
   * parsed with the kind's schema either way, after `extra` (what only compile can know, e.g. the
   * file a dataset_info entry picks) is laid over them. Returns the node's id (`id`, default the kind).
   */
  add<K extends NodeKind>(kind: K, inputs: readonly string[], opts?: { id?: string; params?: NodeParams<K>; extra?: Partial<NodeParams<K>>; reads?: readonly string[] }): Promise<string>
  has(id: string): boolean
  /**
   * Adds another recipe's compiled nodes as they are (kinds, params, reads and keys unchanged), each
   * id and input id prefixed with `prefix`: a chained recipe's graph (graph/chain.ts).
   */
  include(nodes: readonly GraphNode[], prefix: string): void
}

/** A builder over `hasher`, and the nodes it has added so far (topological order by construction). */
export function graphBuilder(recipe: Recipe, options: CompileOptions, hasher: FileHasher): { builder: GraphBuilder; nodes: GraphNode[] } {
  const added: GraphNode[] = []
  const byId = new Map<string, GraphNode>()
  const builder: GraphBuilder = {
    recipe,
    options,
    has: (id) => byId.has(id),
    include: (included, prefix) => {
      for (const n of included) {
        const node: GraphNode = { ...n, id: `${prefix}${n.id}`, inputs: n.inputs.map((i) => `${prefix}${i}`) }
        if (byId.has(node.id)) throw new Error(`compile: node ${node.id} added twice`)
        added.push(node)
        byId.set(node.id, node)
      }
    },
    add: async (kind, inputs, opts = {}) => {
      const id = opts.id ?? kind
      if (byId.has(id)) throw new Error(`compile: node ${id} added twice`)
      const definition = nodes[kind]
      const params = toJson(definition.schema.parse({ ...(opts.params ?? definition.params(recipe)), ...opts.extra })) as { [key: string]: Json }
      const reads: NodeRead[] = []
      // a file the user may not read is DataFileUnreadable naming it, at the recipe key that names it
      const at = kind === 'model' ? 'model' : kind === 'format' ? 'data.format.file' : kind === 'train' || kind === 'ref-logprobs' ? 'lora.init' : 'data.source.path'
      for (const path of opts.reads ?? []) {
        try {
          reads.push({ path, hash: await hasher.hash(path) })
        } catch (e) {
          rethrowFileError(e, path, at)
        }
      }
      const inputKeys = inputs.map((i) => {
        const input = byId.get(i)
        if (!input) throw new Error(`compile: node ${id} reads ${i}, which is not added yet`)
        return input.key
      })
      const node: GraphNode = { id, kind, params, inputs: [...inputs], reads, key: nodeKey(kind, params, inputKeys, reads), runsOn: definition.runsOn }
      added.push(node)
      byId.set(id, node)
      return id
    },
  }
  return { builder, nodes: added }
}
