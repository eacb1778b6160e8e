import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { dirname, extname, relative, resolve } from 'node:path'
import { Command } from 'commander'
import { checkRecipe, fail, formatIssue, isTunekitError, parseRecipe, warmStartDir, warmStartReads } from '@tunekit/core'
import { findTsconfig, readRecipeFile } from '../load-recipe.ts'
import type { CliCommand, CliContext } from '../context.ts'
import { missingInputs, modelFolderIssues } from './recipe-flags.ts'

/** A TypeScript diagnostic of a recipe file, located for printing as `file:line:col`. */
export interface RecipeDiagnostic {
  file: string
  line: number
  column: number
  code: number
  message: string
}

/**
 * Type-checks one recipe file with the compiler options of its nearest tsconfig.json (the
 * repository's, for recipes in this repository) and returns the diagnostics located in that file.
 *
 * It uses the compiler API that ts-morph ships rather than a ts-morph `Project`: a `Project`
 * never sets a file's module format, so under `module: NodeNext` every `.ts` file counts as
 * CommonJS and `import.meta` (which every recipe uses) is reported as TS1470
 * (https://github.com/dsherret/ts-morph/issues/1446). `ts.createProgram` reads package.json
 * `"type"` as `tsc` does.
 */
export async function typeCheckRecipe(file: string): Promise<RecipeDiagnostic[]> {
  // The TypeScript compiler is large: imported here so other commands never pay for it.
  const { ts } = await import('ts-morph')
  const tsconfig = findTsconfig(dirname(file))
  const parsed = tsconfig ? ts.getParsedCommandLineOfConfigFile(tsconfig, { noEmit: true }, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} }) : undefined
  const options: import('ts-morph').ts.CompilerOptions = parsed?.options ?? {
    strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  }
  const program = ts.createProgram({ rootNames: [file], options, host: await hostWithLibs(ts, options) })
  const source = program.getSourceFile(file)
  if (!source) return []
  const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
  return diagnostics.map((d) => {
    const { line, character } = ts.getLineAndCharacterOfPosition(source, d.start ?? 0)
    return { file, line: line + 1, column: character + 1, code: d.code, message: ts.flattenDiagnosticMessageText(d.messageText, '\n  ') }
  })
}

/**
 * A compiler host that reads TypeScript's own lib files (lib.es2023.d.ts, …) from memory.
 * ts-morph's compiler ships them inside @ts-morph/common, not on disk, so the default host finds
 * no `Object`, `Number`, `Boolean`: zod's types then collapse to `{}` and wrong module names or
 * formats type-check (only unknown keys were still caught).
 */
async function hostWithLibs(ts: typeof import('ts-morph').ts, options: import('ts-morph').ts.CompilerOptions): Promise<import('ts-morph').ts.CompilerHost> {
  // Resolved from ts-morph's own location: it depends on @ts-morph/common, tunekit does not.
  const fromTsMorph = createRequire(createRequire(import.meta.url).resolve('ts-morph'))
  const { getLibFiles } = fromTsMorph('@ts-morph/common') as { getLibFiles(): { fileName: string; text: string }[] }
  const libDir = '/__tunekit_typescript_lib__'
  const libs = new Map(getLibFiles().map((f) => [`${libDir}/${f.fileName}`, f.text]))
  const host = ts.createCompilerHost(options)
  const { fileExists, readFile, getSourceFile } = host
  host.getDefaultLibLocation = () => libDir
  host.getDefaultLibFileName = (o) => `${libDir}/${ts.getDefaultLibFileName(o)}`
  host.fileExists = (f) => libs.has(f) || fileExists.call(host, f)
  host.readFile = (f) => libs.get(f) ?? readFile.call(host, f)
  host.getSourceFile = (f, language, ...rest) => {
    const text = libs.get(f)
    return text !== undefined ? ts.createSourceFile(f, text, language) : getSourceFile.call(host, f, language, ...rest)
  }
  return host
}

/** A path as the user would type it: relative to the working directory when inside it. */
const display = (ctx: CliContext, file: string): string => {
  const rel = relative(ctx.cwd, file)
  return rel && !rel.startsWith('..') ? rel : file
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/** `tunekit check [recipe]`: TypeScript diagnostics, then schema and model-aware checks. */
export async function check(ctx: CliContext, fileArg: string | undefined): Promise<void> {
  const file = fileArg !== undefined ? resolve(ctx.cwd, fileArg) : ctx.preset?.file
  if (file === undefined) return fail('NoRecipeGiven', { hintArgs: ['check'] }, 'check')
  const shown = display(ctx, file)
  let typeErrors = 0
  if (['.ts', '.mts'].includes(extname(file))) {
    for (const d of await typeCheckRecipe(file)) {
      ctx.err(`${display(ctx, d.file)}:${d.line}:${d.column} - error TS${d.code}: ${d.message}\n`)
      typeErrors++
    }
  }
  let problems = 0
  try {
    const input = fileArg === undefined && ctx.preset ? ctx.preset.recipe : await readRecipeFile(file)
    const recipe = parseRecipe(input)
    for (const warning of checkRecipe(recipe).filter((i) => i.severity === 'warning')) ctx.err(`${formatIssue(warning)}\n`)
    // A local model folder that is there is checked as `plan` checks it (config.json, weights'
    // headers, tokenizer): a broken one is a problem here, not at the train node.
    for (const found of modelFolderIssues(recipe, dirname(file))) {
      ctx.err(`${formatIssue(found)}\n`)
      if (found.severity === 'error') problems++
    }
    // A warm start's adapter that is there is checked against the recipe's LoRA options (as compile
    // does); one that is not there is left to `run`, as missing data files are.
    const warm = recipe.method.kind === 'lora' ? warmStartDir(recipe.lora.init, dirname(file)) : undefined
    if (warm !== undefined && existsSync(warm)) warmStartReads(recipe, { baseDir: dirname(file) })
    // A local data file that is not there is a warning only: the recipe may be checked on another
    // machine than the one that trains (CI); `run` stops on it before any node runs.
    for (const missing of missingInputs(recipe, dirname(file)).filter((i) => i.name === 'DataFileNotFound')) {
      ctx.err(`${formatIssue({ ...missing, severity: 'warning' })}\n`)
    }
  } catch (e) {
    if (!isTunekitError(e)) throw e
    ctx.err(`${e.message}\n`)
    problems = e.issues.length
  }
  if (typeErrors + problems === 0) {
    ctx.out(`✔ ${shown}: no problems\n`)
    return
  }
  const parts = [...(typeErrors ? [plural(typeErrors, 'TypeScript error')] : []), ...(problems ? [plural(problems, 'recipe problem')] : [])]
  ctx.err(`✖ ${shown}: ${parts.join(', ')}\n`)
  ctx.exitCode = 1
}

export const checkCommand: CliCommand = (ctx) =>
  new Command('check')
    .description('Type-check a recipe, then run the schema and model-aware checks; exit 0 when clean, 1 otherwise.')
    .argument('[recipe]', 'recipe file: .ts, .json or .yaml (default: the recipe that called main())')
    .action((file: string | undefined) => check(ctx, file))
