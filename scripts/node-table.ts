// The node table of docs/graph.md, generated from the node registry (packages/core/src/nodes/):
//   npx tsx scripts/node-table.ts        rewrites the table between its markers in docs/graph.md
// test/graph/node-table.test.ts fails when the table in the docs is not this one.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { nodes, writeFileAtomicSync } from '@tunekit/core'

interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  const?: unknown
  enum?: unknown[]
  items?: JsonSchema
}

export const GRAPH_MD = fileURLToPath(new URL('../docs/graph.md', import.meta.url))
const START = '<!-- node-table:start (npx tsx scripts/node-table.ts) -->'
const END = '<!-- node-table:end -->'

/** A short description of a params value's shape. */
function shapeOf(s: JsonSchema): string {
  const options = s.anyOf ?? s.oneOf
  if (options?.every((o) => o.properties?.kind?.const !== undefined)) {
    return options.map((o) => `\`${String(o.properties!.kind!.const)}\`${Object.keys(o.properties!).length > 1 ? ` {${Object.keys(o.properties!).filter((k) => k !== 'kind').join(', ')}}` : ''}`).join(' \\| ')
  }
  if (s.type === 'object' && s.properties) {
    const keys = Object.keys(s.properties)
    return keys.length <= 6 ? `{${keys.map((k) => (s.required?.includes(k) ? k : `${k}?`)).join(', ')}}` : `{${keys.length} keys}`
  }
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ')
  if (options) return options.map(shapeOf).join(' \\| ')
  if (s.type === 'array') return `${shapeOf(s.items ?? {})}[]`
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any')
}

/** The markdown table: one row per node kind, its params from its schema's JSON Schema. */
export function nodeTable(): string {
  const rows = Object.values(nodes).map((n) => {
    const schema = z.toJSONSchema(n.schema, { io: 'output' }) as JsonSchema
    const params = Object.entries(schema.properties ?? {}).map(([k, v]) => `\`${k}${schema.required?.includes(k) ? '' : '?'}\` ${shapeOf(v)}`).join('; ')
    return `| \`${n.kind}\` | ${n.runsOn} | ${params} | ${n.artifact} |`
  })
  return ['| kind | runs on | params (from its schema in `core/src/nodes/<kind>.ts`) | artifact |', '|---|---|---|---|', ...rows].join('\n')
}

/** docs/graph.md with the table between the markers replaced by the current one. */
export function withNodeTable(markdown: string): string {
  const start = markdown.indexOf(START)
  const end = markdown.indexOf(END)
  if (start < 0 || end < start) throw new Error(`docs/graph.md lacks the node-table markers ${START} … ${END}`)
  return `${markdown.slice(0, start + START.length)}\n${nodeTable()}\n${markdown.slice(end)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileAtomicSync(GRAPH_MD, withNodeTable(readFileSync(GRAPH_MD, 'utf8')))
  console.log('wrote the node table of docs/graph.md')
}
