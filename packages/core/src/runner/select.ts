import { isCached } from '../cache/store.ts'
import { fail } from '../errors/tunekit-error.ts'
import { getNode, withAncestors, withDescendants } from '../graph/walk.ts'
import type { Graph } from '../graph/types.ts'

/** Which nodes a run touches, like a build tool's targets. */
export interface Selection {
  /** Run up to and including this node (and what it needs). */
  until?: string | undefined
  /** Run only this node; its inputs must already be cached. */
  only?: string | undefined
  /** Re-run this node and everything after it, even when cached. */
  from?: string | undefined
}

/** The nodes to visit in order, and those whose cache entry is ignored (forced). */
export interface SelectedNodes {
  visit: string[]
  force: Set<string>
}

/**
 * Resolves `until` / `only` / `from` to the nodes to visit. Visited nodes that are cached are
 * skipped unless forced; `only` checks up front that its inputs are cached.
 */
export function selectNodes(graph: Graph, sel: Selection, cacheDir: string): SelectedNodes {
  let visit: string[]
  if (sel.only !== undefined) {
    const node = getNode(graph, sel.only, 'only')
    const missing = node.inputs.filter((id) => !isCached(cacheDir, getNode(graph, id).key))
    if (missing.length > 0) fail('InputsNotCached', { path: 'only', value: sel.only, hintArgs: [sel.only] }, sel.only, missing)
    visit = [node.id]
  } else if (sel.until !== undefined) {
    visit = withAncestors(graph, getNode(graph, sel.until, 'until').id)
  } else {
    visit = graph.nodes.map((n) => n.id)
  }
  const force = new Set<string>()
  if (sel.from !== undefined) {
    const after = new Set(withDescendants(graph, getNode(graph, sel.from, 'from').id))
    for (const id of visit) if (after.has(id)) force.add(id)
  }
  return { visit, force }
}
