import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { beforeAll, describe, expect, it } from 'vitest'

// What an editor shows: the TypeScript language service over a recipe file that imports the core
// sources through the repository's tsconfig, as VS Code would.

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixture = fileURLToPath(new URL('../fixtures/recipes/editor.ts', import.meta.url))
const text = readFileSync(fixture, 'utf8')

function languageService(): ts.LanguageService {
  const configPath = `${root}tsconfig.json`
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p))
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(configPath))
  const host: ts.LanguageServiceHost = {
    getCompilationSettings: () => options,
    getScriptFileNames: () => [fixture],
    getScriptVersion: () => '1',
    getScriptSnapshot: (file) => {
      const content = ts.sys.readFile(file)
      return content === undefined ? undefined : ts.ScriptSnapshot.fromString(content)
    },
    getCurrentDirectory: () => root,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (p) => ts.sys.fileExists(p),
    readFile: (p) => ts.sys.readFile(p),
    readDirectory: (...a) => ts.sys.readDirectory(...a),
    directoryExists: (p) => ts.sys.directoryExists(p),
    getDirectories: (p) => ts.sys.getDirectories(p),
  }
  return ts.createLanguageService(host, ts.createDocumentRegistry())
}

/** Offset just after the first occurrence of `marker` (which must be unique in the fixture). */
const after = (marker: string): number => {
  const at = text.indexOf(marker)
  if (at < 0 || text.indexOf(marker, at + 1) >= 0) throw new Error(`marker ${marker} must occur once`)
  return at + marker.length
}

describe('the language service on a recipe', () => {
  let service: ts.LanguageService
  beforeAll(() => {
    service = languageService()
  })

  const completions = (marker: string): string[] =>
    (service.getCompletionsAtPosition(fixture, after(marker), { triggerCharacter: "'" })?.entries ?? []).map((e) => e.name).sort()

  it('resolves the core sources: the only errors are the two empty strings being typed', () => {
    const diagnostics = [...service.getSyntacticDiagnostics(fixture), ...service.getSemanticDiagnostics(fixture)]
    expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([
      `Type '""' is not assignable to type '"q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj"'.`,
      `Type '""' is not assignable to type '"embed_tokens" | "lm_head"'.`,
    ])
  })

  it("offers exactly the family's module names inside targetModules: ['", () => {
    expect(completions("targetModules: ['")).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj'])
  })

  it("offers exactly the family's saveable modules inside modulesToSave: ['", () => {
    expect(completions("modulesToSave: ['")).toEqual(['embed_tokens', 'lm_head'])
  })

  it('offers the known families inside family', () => {
    expect(completions("family: '")).toEqual(['auto', 'bert', 'gemma', 'gemma2', 'llama', 'llava', 'mistral', 'mixtral', 'phi3', 'qwen2', 'qwen2_vl', 'qwen3', 'yi'])
  })

  it('shows the TSDoc of lora.rank on hover, with its default and source', () => {
    const info = service.getQuickInfoAtPosition(fixture, after('lora: { ra'))
    expect(ts.displayPartsToString(info?.displayParts)).toMatch(/rank\?: number/)
    expect(ts.displayPartsToString(info?.documentation)).toMatchInlineSnapshot(`
      "Rank r of the low-rank update B·A. Adapter memory and trainable parameters grow linearly
      with it; the QLoRA paper finds quality insensitive to r once all linear layers are adapted."
    `)
    expect(info?.tags?.map((t) => `@${t.name} ${ts.displayPartsToString(t.text)}`)).toMatchInlineSnapshot(`
      [
        "@defaultValue 8",
        "@see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (r)",
      ]
    `)
  })

  it('keeps the TSDoc of the family-typed keys (targetModules, modulesToSave, family, lora)', () => {
    const doc = (marker: string): string => ts.displayPartsToString(service.getQuickInfoAtPosition(fixture, after(marker))?.documentation)
    expect(doc('targetModu')).toMatch(/^Linear modules that get an adapter/)
    expect(doc('modulesTo')).toMatch(/^Modules trained in full and saved with the adapter/)
    expect(doc("Mistral-7B-v0.1', fam")).toMatch(/^Architecture of the checkpoint/)
    expect(doc('  lor')).toMatch(/^The LoRA adapter/)
  })

  it('shows the TSDoc of args.learningRate on hover', () => {
    const info = service.getQuickInfoAtPosition(fixture, after('args: { learn'))
    expect(ts.displayPartsToString(info?.documentation)).toMatch(/^Peak learning rate of the adapter/)
    expect(info?.tags?.map((t) => t.name)).toEqual(['defaultValue', 'see'])
  })
})
