import type { Graph } from './types.ts'

/** Formats {@link renderGraph} can write. */
export type GraphFormat = 'mermaid' | 'dot' | 'json'

/** Options of {@link renderGraph}. */
export interface RenderOptions {
  /** Node ids whose artifact is cached; drawn filled, the rest outlined. */
  cached?: ReadonlySet<string>
}

const short = (key: string): string => key.slice(0, 12)

/**
 * Draws the graph: Mermaid (for Markdown and GitHub), Graphviz dot, or the graph itself as JSON.
 * Edges point from an input to the node that reads it.
 */
export function renderGraph(graph: Graph, format: GraphFormat, opts: RenderOptions = {}): string {
  if (format === 'json') return `${JSON.stringify(graph, null, 2)}\n`
  const cached = opts.cached ?? new Set<string>()
  const lines: string[] = []
  if (format === 'mermaid') {
    lines.push('flowchart TD')
    // a chained recipe's ids (`tiny-chat/train`) hold a '/', which Mermaid ids may not: `tiny-chat_train`, labelled as they are
    const mid = (id: string): string => id.replace(/[^\w-]/g, '_')
    for (const n of graph.nodes) lines.push(`  ${mid(n.id)}["${n.id}<br/><small>${n.runsOn} · ${short(n.key)}</small>"]`)
    for (const n of graph.nodes) for (const i of n.inputs) lines.push(`  ${mid(i)} --> ${mid(n.id)}`)
    if (cached.size > 0) {
      lines.push('  classDef cached fill:#d4edda,stroke:#2e7d32')
      lines.push(`  class ${graph.nodes.filter((n) => cached.has(n.id)).map((n) => mid(n.id)).join(',')} cached`)
    }
    return `${lines.join('\n')}\n`
  }
  lines.push(`digraph ${JSON.stringify(graph.recipeName)} {`, '  rankdir=TB;', '  node [shape=box, fontname="Helvetica"];')
  for (const n of graph.nodes) {
    const style = cached.has(n.id) ? ', style=filled, fillcolor="#d4edda"' : ''
    lines.push(`  ${JSON.stringify(n.id)} [label=${JSON.stringify(`${n.id}\n${n.runsOn} · ${short(n.key)}`)}${style}];`)
  }
  for (const n of graph.nodes) for (const i of n.inputs) lines.push(`  ${JSON.stringify(i)} -> ${JSON.stringify(n.id)};`)
  lines.push('}')
  return `${lines.join('\n')}\n`
}
