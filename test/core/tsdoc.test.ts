import { fileURLToPath } from 'node:url'
import { Node, Project, SyntaxKind, ts, type SourceFile } from 'ts-morph'
import { describe, expect, it } from 'vitest'

// Every key of every z.strictObject in the recipe schema must carry TSDoc with a summary, a
// @defaultValue and a @see: that text is what editors show on hover and what `tunekit schema`
// copies into the JSON Schema.

const schemaGlobs = ['schema', 'methods'].map((dir) => fileURLToPath(new URL(`../../packages/core/src/${dir}/*.ts`, import.meta.url)))

interface KeyDoc {
  /** `file.ts: schemaName.key` */
  where: string
  summary: string
  tags: Set<string>
}

function keyDocs(file: SourceFile): KeyDoc[] {
  const out: KeyDoc[] = []
  for (const call of file.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    if (call.getExpression().getText() !== 'z.strictObject') continue
    const shape = call.getArguments()[0]
    if (!shape || !Node.isObjectLiteralExpression(shape)) continue
    const owner = call.getFirstAncestorByKind(SyntaxKind.VariableDeclaration)?.getName() ?? '(inline object)'
    for (const prop of shape.getProperties()) {
      if (!Node.isPropertyAssignment(prop) && !Node.isShorthandPropertyAssignment(prop)) continue
      const docs = ts.getJSDocCommentsAndTags(prop.compilerNode).filter(ts.isJSDoc)
      const summary = docs.map((d) => ts.getTextOfJSDocComment(d.comment) ?? '').join(' ').trim()
      // A tag counts when it has text after its name (read raw: `@see https://…` parses oddly).
      const tags = new Set(docs.flatMap((d) => (d.tags ?? []).filter((t) => file.getFullText().slice(t.tagName.end, t.end).replace(/[\s*/]/g, '') !== '').map((t) => t.tagName.text)))
      out.push({ where: `${file.getBaseName()}: ${owner}.${prop.getName()} (line ${prop.getStartLineNumber()})`, summary, tags })
    }
  }
  return out
}

const missing = (docs: KeyDoc[]): string[] =>
  docs.flatMap((d) => [
    ...(d.summary === '' ? [`${d.where} has no TSDoc summary`] : []),
    ...(d.tags.has('defaultValue') ? [] : [`${d.where} has no @defaultValue`]),
    ...(d.tags.has('see') ? [] : [`${d.where} has no @see`]),
  ])

describe('schema TSDoc', () => {
  const project = new Project({ skipAddingFilesFromTsConfig: true, compilerOptions: { allowJs: false } })
  const files = project.addSourceFilesAtPaths(schemaGlobs)

  it('documents every key of every schema object with a summary, @defaultValue and @see', () => {
    const docs = files.flatMap(keyDocs)
    // The walk found the schema: the groups and their keys, nested objects included.
    expect(docs.length).toBeGreaterThan(80)
    expect(docs.map((d) => d.where)).toEqual(expect.arrayContaining([expect.stringMatching(/^lora\.ts: loraSchema\.rank /), expect.stringMatching(/^data\.ts: hubSourceSchema\.repo /)]))
    expect(missing(docs)).toEqual([])
  })

  it('names the key that lacks documentation', () => {
    const file = project.createSourceFile(
      'virtual/bad-schema.ts',
      `import { z } from 'zod'
export const badSchema = z.strictObject({
  /**
   * Documented.
   * @defaultValue 1
   * @see https://example.org
   */
  good: z.number().default(1),
  /** No tags. */
  noTags: z.number(),
  undocumented: z.string(),
  /**
   * Default but no source.
   * @defaultValue 'x'
   */
  noSee: z.string(),
})`,
    )
    expect(missing(keyDocs(file))).toMatchInlineSnapshot(`
      [
        "bad-schema.ts: badSchema.noTags (line 10) has no @defaultValue",
        "bad-schema.ts: badSchema.noTags (line 10) has no @see",
        "bad-schema.ts: badSchema.undocumented (line 11) has no TSDoc summary",
        "bad-schema.ts: badSchema.undocumented (line 11) has no @defaultValue",
        "bad-schema.ts: badSchema.undocumented (line 11) has no @see",
        "bad-schema.ts: badSchema.noSee (line 16) has no @see",
      ]
    `)
  })
})
