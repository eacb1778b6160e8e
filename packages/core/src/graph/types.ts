/** JSON-serialisable values: graph nodes, params and artifacts' index files hold only these. */
export type { Json } from '../json.ts'
import type { Json } from '../json.ts'

import type { NodeKind } from '../nodes/index.ts'
import type { ChosenTemplate } from '../template-choice.ts'

export type { NodeKind }

/** A file a node reads, hashed into its key so that new bytes give a new key. */
export interface NodeRead {
  /** Absolute path. */
  path: string
  /** sha256 of the bytes, or `'missing'` when the file is not there (plan still works). */
  hash: string
}

/** One node of the execution graph: data only, no methods. */
export interface GraphNode {
  /** Unique id within the graph, e.g. `tokenize`. */
  id: string
  kind: NodeKind
  /** What the node does, JSON-serialisable (the recipe groups it depends on). */
  params: { [key: string]: Json }
  /** Ids of the nodes whose artifacts it reads. */
  inputs: string[]
  /** Files it reads from outside the cache. */
  reads: NodeRead[]
  /** Content key: hash of kind, params, inputs' keys and reads. The artifact lives in `<cacheDir>/<key>/`. */
  key: string
  /** Where the node runs: `data` nodes in TypeScript, the rest on the selected backend. */
  runsOn: 'data' | 'backend'
}

/** The compiled graph: nodes in topological order. */
export interface Graph {
  /** Format version of this structure. */
  version: 1
  recipeName: string
  nodes: GraphNode[]
  /**
   * The chat template the recipe's chat data is rendered with and the rule that chose it (a default
   * or `data.template`), for `plan` and the checks table; absent where nothing renders chat. Not in
   * any node's key (the tokenize node's params hold the template itself).
   */
  template?: ChosenTemplate
}
