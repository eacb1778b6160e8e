// The `export` node (docs/export.md): the merged model → one GGUF file per type of `output.gguf`,
// each with an Ollama Modelfile, in the node's artifact folder:
//   model-f16.gguf  Modelfile-f16  model-q8_0.gguf  Modelfile-q8_0  export.json
// The runner renames the folder into the cache once every file is complete, so a crash or Ctrl-C
// between two types leaves nothing behind.
import { inputOfKind, nodeParams, writeJsonAtomic, type GgufType, type NodeExecutor } from '@tunekit/core'
import { join } from 'node:path'
import { exportGguf, type GgufExportType } from './gguf/export.ts'

/** exportGguf's name of each recipe type (`output.gguf`, `--type`): ggml's, in upper case. */
export const ggufExportTypeOf = { f32: 'F32', f16: 'F16', q8_0: 'Q8_0', q4_0: 'Q4_0' } as const satisfies Record<GgufType, GgufExportType>

/** What the export artifact's `export.json` lists: one entry per file, in the order written. */
export interface ExportReport {
  name: string
  files: Array<{ type: GgufType; file: string; modelfile: string; bytes: number; architecture: string }>
}

/** The report of an export artifact. */
export const EXPORT_REPORT = 'export.json'

/** The GGUF file of `type` in an export artifact (relative to it). */
export const ggufFileName = (type: GgufType): string => `model-${type}.gguf`

/** Writes every GGUF type the node's params ask for from its `merge` input. */
export const exportExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('export', ctx.node)
  const merged = inputOfKind(ctx, 'merge')
  const report: ExportReport = { name: p.name, files: [] }
  for (const type of p.gguf) {
    if (ctx.signal.aborted) return // not committed: the runner drops the folder
    const file = ggufFileName(type)
    const modelfile = `Modelfile-${type}`
    const result = await exportGguf(merged, join(ctx.outDir, file), { type: ggufExportTypeOf[type], name: p.name, modelfile: join(ctx.outDir, modelfile) })
    report.files.push({ type, file, modelfile, bytes: result.bytes, architecture: result.architecture })
    ctx.emit({ type: 'node-progress', node: ctx.node.id, done: report.files.length, total: p.gguf.length, unit: 'files' })
  }
  await writeJsonAtomic(join(ctx.outDir, EXPORT_REPORT), report)
}
