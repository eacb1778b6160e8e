// docs/graph.md's node table is generated from the node schemas: it must be the current one.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { nodes } from '@tunekit/core'
import { GRAPH_MD, nodeTable, withNodeTable } from '../../scripts/node-table.ts'

describe('docs/graph.md node table', () => {
  it('is generated from the node registry (run npx tsx scripts/node-table.ts after changing a node schema)', () => {
    const doc = readFileSync(GRAPH_MD, 'utf8')
    expect(withNodeTable(doc) === doc, 'stale: run npx tsx scripts/node-table.ts').toBe(true)
  })

  it('has one row per node kind with its params', () => {
    const rows = nodeTable().split('\n').slice(2)
    expect(rows.map((r) => r.split(' | ')[0])).toEqual(Object.keys(nodes).map((k) => `| \`${k}\``))
    expect(rows.find((r) => r.startsWith('| `tokenize`'))).toContain('`render` `chat` {template, mask} \\| `text`')
  })
})
