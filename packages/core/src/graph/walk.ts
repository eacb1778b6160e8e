import { fail } from '../errors/tunekit-error.ts'
import type { Graph, GraphNode } from './types.ts'

/** The node with this id, or an `UnknownNode` error listing the graph's node ids. */
export function getNode(graph: Graph, id: string, path = 'node'): GraphNode {
  const node = graph.nodes.find((n) => n.id === id)
  if (!node) return fail('UnknownNode', { path, value: id }, id, graph.nodes.map((n) => n.id))
  return node
}

/** Ids of the node and everything it depends on, in graph (topological) order. */
export function withAncestors(graph: Graph, id: string): string[] {
  const keep = new Set<string>()
  const visit = (nodeId: string): void => {
    if (keep.has(nodeId)) return
    keep.add(nodeId)
    for (const input of getNode(graph, nodeId).inputs) visit(input)
  }
  visit(id)
  return graph.nodes.filter((n) => keep.has(n.id)).map((n) => n.id)
}

/** Ids of the node and everything that depends on it, in graph order. */
export function withDescendants(graph: Graph, id: string): string[] {
  getNode(graph, id)
  const keep = new Set<string>([id])
  // Nodes are in topological order, so one forward pass sees every input before its users.
  for (const node of graph.nodes) if (node.inputs.some((i) => keep.has(i))) keep.add(node.id)
  return graph.nodes.filter((n) => keep.has(n.id)).map((n) => n.id)
}
