import { readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** The TSDoc of one schema key, as written in @tunekit/core's schema sources. */
export interface KeyDoc {
  summary: string
  defaultValue?: string
  see?: string
}

/**
 * The TSDoc of every key of every `z.strictObject` in @tunekit/core's `src/schema/*.ts` and
 * `src/methods/*.ts` (LoRA's, full's and freeze's options), by schema
 * variable name then key. Read from the sources (they ship with the package) so the JSON Schema's
 * descriptions are the editor's hover text, written once.
 */
export async function readSchemaDocs(): Promise<Map<string, Map<string, KeyDoc>>> {
  const { Node, Project, ts } = await import('ts-morph')
  const corePackage = createRequire(import.meta.url).resolve('@tunekit/core/package.json')
  const dirs = ['schema', 'methods'].map((d) => join(dirname(corePackage), 'src', d))
  const project = new Project({ skipAddingFilesFromTsConfig: true, skipFileDependencyResolution: true })
  const files = dirs.flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => project.addSourceFileAtPath(join(dir, f))))
  const docs = new Map<string, Map<string, KeyDoc>>()
  const text = (c: Parameters<typeof ts.getTextOfJSDocComment>[0]): string => (ts.getTextOfJSDocComment(c) ?? '').replace(/\s+/g, ' ').trim()
  // A tag's text as written: TypeScript parses `@see https://…` as a name reference `https` and a
  // comment `://…`, so the parsed comment alone would lose the scheme.
  const tagText = (tag: import('ts-morph').ts.JSDocTag): string =>
    tag.getSourceFile().text.slice(tag.tagName.end, tag.end).replace(/^\s*\*/gm, ' ').replace(/\*\/$/, '').replace(/\s+/g, ' ').trim()
  for (const file of files) {
    for (const decl of file.getVariableDeclarations()) {
      const call = decl.getInitializer()
      if (!call || !Node.isCallExpression(call) || call.getExpression().getText() !== 'z.strictObject') continue
      const shape = call.getArguments()[0]
      if (!shape || !Node.isObjectLiteralExpression(shape)) continue
      const keys = new Map<string, KeyDoc>()
      for (const prop of shape.getProperties()) {
        if (!Node.isPropertyAssignment(prop)) continue
        const jsDocs = ts.getJSDocCommentsAndTags(prop.compilerNode).filter(ts.isJSDoc)
        const doc: KeyDoc = { summary: jsDocs.map((d) => text(d.comment)).join(' ').trim() }
        for (const tag of jsDocs.flatMap((d) => d.tags ?? [])) {
          if (tag.tagName.text === 'defaultValue') doc.defaultValue = tagText(tag)
          if (tag.tagName.text === 'see') doc.see = tagText(tag)
        }
        keys.set(prop.getName(), doc)
      }
      docs.set(decl.getName(), keys)
    }
  }
  return docs
}

/** One description line for a key: the summary, then the default and the source. */
export const describeKey = (doc: KeyDoc): string =>
  [doc.summary, doc.defaultValue && !doc.defaultValue.startsWith('(required)') ? `Default: ${doc.defaultValue}.` : '', doc.see ? `See ${doc.see}` : ''].filter(Boolean).join(' ')
