import { existsSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { Command } from 'commander'
import { copyFileAtomic, fail, ggufTypeSchema, parseRecipe, writeFileAtomic, type GgufType } from '@tunekit/core'
import { EXPORT_REPORT, exportGguf, ggufExportTypeOf, type ExportReport } from '@tunekit/hf'
import type { CliCommand, CliContext } from '../context.ts'
import { addRecipeFlags, prepareRecipe, type RecipeFlags } from './recipe-flags.ts'
import { runPrepared, shown, type RunOptions } from './run.ts'

/** Options of `tunekit export`. */
export interface ExportOptions extends RecipeFlags, Pick<RunOptions, 'json' | 'force' | 'wait'> {
  /** GGUF type: f32, f16, q8_0 or q4_0 (any case). */
  type?: string
  /** Where the GGUF file goes (a Modelfile is written beside it). */
  out?: string
}

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`

/** `--type`, in the recipe's spelling (`q8_0`); `Q8_0`, as llama.cpp writes it, is the same type. */
function typeOf(flag: string | undefined): GgufType | undefined {
  if (flag === undefined) return undefined
  const parsed = ggufTypeSchema.safeParse(flag.toLowerCase())
  return parsed.success ? parsed.data : fail('GgufTypeUnknown', { path: '--type', value: flag }, flag, ggufTypeSchema.options)
}

/** A merged model folder → one GGUF file, `<run or folder name>-<type>.gguf` beside the folder unless `--out` says where. */
async function exportFolder(ctx: CliContext, dir: string, type: GgufType, out: string | undefined): Promise<void> {
  if (!existsSync(join(dir, 'config.json'))) fail('ExportFolderNotAModel', { value: dir }, dir)
  // runs/<name>/merged is named after its run, as exportGguf names the model inside
  const name = basename(dir) === 'merged' ? basename(dirname(dir)) : basename(dir)
  const file = out === undefined ? join(dirname(dir), `${name}-${type}.gguf`) : resolve(ctx.cwd, out)
  const result = await exportGguf(dir, file, { type: ggufExportTypeOf[type] })
  ctx.out(`wrote ${shown(ctx, result.file)} (${type}, ${megabytes(result.bytes)}, ${result.architecture}) and ${shown(ctx, result.modelfile!)}\n`)
  printUse(ctx, name, result.file, result.modelfile!)
}

/** The `output.gguf` that gives `type` while keeping the recipe's own export (and its cache entry) when it already has it. */
function ggufFor(recipeTypes: readonly GgufType[], type: GgufType | undefined): readonly GgufType[] {
  if (type === undefined) return recipeTypes.length > 0 ? recipeTypes : ['f16']
  return recipeTypes.includes(type) ? recipeTypes : [type]
}

/** Runs the recipe up to its export node; with `--out`, copies the one file there (and a Modelfile beside it). */
async function exportRecipe(ctx: CliContext, file: string | undefined, type: GgufType | undefined, opts: ExportOptions): Promise<void> {
  const prepared = await prepareRecipe(ctx, file, opts, 'export')
  const gguf = ggufFor(prepared.recipe.output.gguf, type)
  if (opts.out !== undefined && type === undefined && gguf.length > 1) fail('ExportOutNeedsOneType', { path: '--out', value: opts.out }, gguf)
  const recipe = gguf === prepared.recipe.output.gguf ? prepared.recipe : parseRecipe({ ...prepared.recipe, output: { ...prepared.recipe.output, gguf } })
  const result = await runPrepared(ctx, { ...prepared, recipe }, { ...opts, until: 'export', verb: 'export' })
  const folder = result.nodes.find((n) => n.id === 'export')!.path
  const report = JSON.parse(await readFile(join(folder, EXPORT_REPORT), 'utf8')) as ExportReport
  const linked = join(result.runDir, 'gguf')
  if (opts.out !== undefined) {
    const picked = report.files.find((f) => f.type === (type ?? gguf[0]))!
    const out = resolve(ctx.cwd, opts.out)
    await copyFileAtomic(join(folder, picked.file), out)
    const modelfile = join(dirname(out), 'Modelfile')
    const text = await readFile(join(folder, picked.modelfile), 'utf8')
    await writeFileAtomic(modelfile, text.replace(/^FROM .*$/m, `FROM ./${basename(out)}`))
    if (!opts.json) {
      ctx.out(`wrote ${shown(ctx, out)} (${picked.type}, ${megabytes(picked.bytes)}, ${picked.architecture}) and ${shown(ctx, modelfile)}\n`)
      printUse(ctx, report.name, out, modelfile)
    }
    return
  }
  if (opts.json) return
  for (const f of report.files) ctx.out(`${shown(ctx, join(linked, f.file))} (${f.type}, ${megabytes(f.bytes)}, ${f.architecture})\n`)
  const first = report.files[0]!
  printUse(ctx, report.name, join(linked, first.file), join(linked, first.modelfile))
}

/** How to use the file: tunekit's own llama.cpp chat, and Ollama under the model's name. */
function printUse(ctx: CliContext, name: string, file: string, modelfile: string): void {
  ctx.out(`chat with it: npx tunekit chat --gguf ${shown(ctx, file)}\n`)
  ctx.out(`in Ollama: ollama create ${name} -f ${shown(ctx, modelfile)}\n`)
}

/**
 * `tunekit export <recipe | merged-folder>`: GGUF for llama.cpp and Ollama. From a recipe it runs the
 * graph up to its export node (a finished training and merge are cache hits) and points at the files
 * linked into the run folder; from a merged model folder it writes the file directly.
 */
export async function exportModel(ctx: CliContext, target: string | undefined, opts: ExportOptions): Promise<void> {
  const type = typeOf(opts.type)
  if (target !== undefined) {
    const path = resolve(ctx.cwd, target)
    if (!existsSync(path)) fail('ExportSourceNotFound', { value: path }, path)
    if (statSync(path).isDirectory()) return exportFolder(ctx, path, type ?? 'f16', opts.out)
  }
  return exportRecipe(ctx, target, type, opts)
}

export const exportCommand: CliCommand = (ctx) =>
  addRecipeFlags(
    new Command('export')
      .description('Export the merged model as GGUF for llama.cpp and Ollama: from a recipe (runs it up to its export node; cached steps are reused) or from a merged model folder.')
      .argument('[recipe-or-folder]', 'recipe file (.ts, .json, .yaml) or a merged model folder (runs/<name>/merged); defaults to the file that called main()'),
  )
    .option('--type <type>', "GGUF tensor type: f32, f16, q8_0 or q4_0 (default: the recipe's output.gguf, else f16)")
    .option('--out <file>', 'write the GGUF file here (and a Modelfile beside it) instead of into the run folder')
    .option('--json', 'print run events as JSON lines instead of progress')
    .option('--force', 'run even when the plan says it does not fit (memory or disk)')
    .option('--no-wait', 'fail at once (TK434) when another run holds the run folder or a cache entry, instead of waiting')
    .action(async (target: string | undefined, opts: ExportOptions) => {
      await exportModel(ctx, target, opts)
    })
