import type { z } from 'zod'
import { collateNode } from './collate.ts'
import { evalNode } from './eval.ts'
import { exportNode } from './export.ts'
import { formatNode } from './format.ts'
import { generateNode } from './generate.ts'
import { mergeNode } from './merge.ts'
import { modelNode } from './model.ts'
import { pairSplitNode } from './pair-split.ts'
import { refLogprobsNode } from './ref-logprobs.ts'
import { scoreNode } from './score.ts'
import type { NodeDefinition } from './node.ts'
import { qaEvalNode } from './qa-eval.ts'
import { qaFeaturesNode } from './qa-features.ts'
import { qaTrainNode } from './qa-train.ts'
import { sourceNode } from './source.ts'
import { splitNode } from './split.ts'
import { tokenizeNode } from './tokenize.ts'
import { trainNode } from './train.ts'

/** Every node kind, keyed by kind: one file each in this folder. */
export const nodes = {
  model: modelNode,
  source: sourceNode,
  format: formatNode,
  tokenize: tokenizeNode,
  split: splitNode,
  collate: collateNode,
  'pair-split': pairSplitNode,
  'ref-logprobs': refLogprobsNode,
  train: trainNode,
  merge: mergeNode,
  generate: generateNode,
  eval: evalNode,
  export: exportNode,
  score: scoreNode,
  'qa-features': qaFeaturesNode,
  'qa-train': qaTrainNode,
  'qa-eval': qaEvalNode,
} satisfies { [K in string]: NodeDefinition }

/** The node registry's type. */
export type NodeRegistry = typeof nodes

/** The kinds of node a recipe compiles to: the keys of the node registry. */
export type NodeKind = keyof NodeRegistry

// Each entry's kind is its key (a registry typo would be a type error here).
type KindsMatch = { [K in NodeKind]: NodeRegistry[K]['kind'] extends K ? true : never }[NodeKind]
const kindsMatch: KindsMatch = true
void kindsMatch

/** The parsed params of a node of kind `K`. */
export type NodeParams<K extends NodeKind> = z.output<NodeRegistry[K]['schema']>

/**
 * A node's params, parsed with its kind's schema: every executor's first line. A node whose kind is
 * not `kind`, or whose params do not match, is a bug in compile (thrown as such, not a catalog error).
 */
export function nodeParams<K extends NodeKind>(kind: K, node: { id: string; kind: string; params: unknown }): NodeParams<K> {
  if (node.kind !== kind) throw new Error(`node ${node.id} is a ${node.kind} node, not ${kind}`)
  return nodes[kind].schema.parse(node.params) as NodeParams<K>
}
