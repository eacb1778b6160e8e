import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'
import { fail, familyInfo, familyNames, knownCheckpoints } from '@tunekit/core'
import type { CliCommand, CliContext } from '../context.ts'
import { dependencySpecs, installPath, tunekitOrigin } from '../tunekit-origin.ts'
import { installHint, moduleType, shellWord } from './install-hint.ts'

export interface InitOptions {
  /** Scaffold a publishable recipe package instead of one recipe file. */
  package?: boolean
  /** Recipe name (file mode) or npm package name (package mode). */
  name?: string
  /** Hub id of the base model; replaces the template's tiny random model. */
  model?: string
  family?: string
  force?: boolean
}

const here = dirname(fileURLToPath(import.meta.url))

/** `templates/` of the repository, or of the published CLI package (copied there when packing). */
export function templatesDir(): string {
  const packaged = join(here, '..', '..', 'templates')
  const repository = join(here, '..', '..', '..', '..', 'templates')
  // A checkout reads its own templates/: the copy `npm pack` leaves in packages/cli may be stale,
  // or half rewritten while a test packs.
  const installed = realpathSync(here).split(sep).includes('node_modules')
  const candidates = installed ? [packaged] : [repository, packaged]
  const found = candidates.find((c) => existsSync(join(c, 'recipe.ts')))
  if (!found) throw new Error(`tunekit's templates are missing (looked in ${candidates.join(', ')})`)
  return found
}

const kebab = (text: string): string =>
  text
    .replace(/^@[^/]+\//, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase()
const camel = (text: string): string => kebab(text).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/**
 * Whether `@tunekit/core`, seen from `dir`, is a source checkout (this monorepo, a workspace or a
 * link) rather than a built package: then TypeScript and vitest in the new project must use the
 * `source` export condition to find it.
 */
export function tunekitFromSource(dir: string): boolean {
  return tunekitSourcePackages(dir) !== undefined
}

/** The folder holding the tunekit packages' sources (`…/packages`) when {@link tunekitFromSource}. */
function tunekitSourcePackages(dir: string): string | undefined {
  try {
    const pkg = realpathSync(dirname(createRequire(join(dir, 'noop.js')).resolve('@tunekit/core/package.json')))
    // An installed package lives under node_modules; a workspace or a link resolves to a checkout,
    // whether or not its dist/ was built (packing builds it).
    const fromSource = !pkg.split(sep).includes('node_modules') && existsSync(join(pkg, 'src', 'index.ts'))
    return fromSource ? dirname(pkg) : undefined
  } catch {
    return undefined
  }
}

const canResolve = (dir: string, pkg: string): boolean => {
  try {
    createRequire(join(dir, 'noop.js')).resolve(`${pkg}/package.json`)
    return true
  } catch {
    return false
  }
}

function checkModel(opts: InitOptions): { id: string; family: string } | undefined {
  if (opts.model === undefined) return undefined
  const family = opts.family ?? knownCheckpoints[opts.model]?.family
  if (family === undefined) {
    return fail('FamilyNeeded', { path: '--family', value: opts.model, hintArgs: [opts.model, familyNames.filter((f) => f !== 'auto')] }, opts.model)
  }
  if (!(familyNames as readonly string[]).includes(family)) return fail('UnknownFamily', { path: '--family', value: family }, family, familyNames)
  return { id: opts.model, family }
}

type Project = import('ts-morph').Project
type SourceFile = import('ts-morph').SourceFile

/** Sets `name: '…'` and, when given, the model, in the first object literal passed to the recipe factory. */
async function editRecipe(file: SourceFile, name: string, model: { id: string; family: string } | undefined): Promise<void> {
  const { SyntaxKind } = await import('ts-morph')
  const recipeOptions = () => file.getVariableDeclarationOrThrow('recipe').getInitializerIfKindOrThrow(SyntaxKind.CallExpression).getArguments()[0]!.asKindOrThrow(SyntaxKind.ObjectLiteralExpression)
  const options = recipeOptions()
  options.getPropertyOrThrow('name').asKindOrThrow(SyntaxKind.PropertyAssignment).setInitializer(`'${name}'`)
  if (model) {
    const modelProp = options.getPropertyOrThrow('model').asKindOrThrow(SyntaxKind.PropertyAssignment)
    // A real checkpoint replaces the template's random one; the comment that explained it goes too.
    const explain = modelProp.getLeadingCommentRanges().map((r) => [r.getPos(), r.getEnd()] as const)
    modelProp.setInitializer(`{ id: '${model.id}', family: '${model.family}' }`)
    // The comments precede the property, so their positions survive the edit; remove whole lines, last first.
    const text = file.getFullText()
    for (const [pos, end] of explain.reverse()) {
      const start = text.lastIndexOf('\n', pos - 1) + 1
      const stop = text[end] === '\n' ? end + 1 : end
      file.replaceText([start, stop], '')
    }
    // a vision-language family trains on the torch backend alone (VisionNeedsTorch otherwise); the
    // edited text's nodes are new ones
    if (familyInfo(model.family)?.vision) {
      const edited = recipeOptions().getPropertyOrThrow('model')
      const indent = file.getFullText().slice(edited.getStartLinePos(), edited.getStart())
      file.insertText(edited.getEnd(), `,\n${indent}// LLaVA and Qwen2-VL train in the torch worker (transformers' own classes); records may hold images (docs/multimodal.md)\n${indent}backend: 'torch'`)
    }
  }
}

/** Scaffolds one recipe file from `templates/recipe.ts`. Returns the file written. */
export async function initRecipeFile(ctx: CliContext, target: string | undefined, opts: InitOptions): Promise<string> {
  const name = kebab(opts.name ?? (target ? basename(target, extname(target)) : 'my-recipe'))
  const file = resolve(ctx.cwd, target && extname(target) === '.ts' ? target : join(target ?? 'recipes', `${name}.ts`))
  if (existsSync(file) && !opts.force) fail('TargetExists', { path: 'target', value: relative(ctx.cwd, file) }, relative(ctx.cwd, file), 'exists already')
  const model = checkModel(opts)
  const { Project } = await import('ts-morph')
  const project: Project = new Project({ useInMemoryFileSystem: true })
  const template = readFileSync(join(templatesDir(), 'recipe.ts'), 'utf8')
  const runPath = relative(ctx.cwd, file) || basename(file)
  const source = project.createSourceFile('/recipe.ts', template.replaceAll('recipes/my-recipe.ts', runPath).replace(/^ \* my-recipe:/m, ` * ${name}:`))
  await editRecipe(source, name, model)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, source.getFullText())
  ctx.out(`✔ wrote ${runPath}\n`)
  printSetup(ctx, dirname(file))
  ctx.out(`  next: npx tsx ${runPath} plan\n`)
  return file
}

/**
 * Prints what must happen before a recipe in `dir` runs: installing tunekit where it does not
 * resolve, as it can be installed here (see {@link tunekitOrigin}), and `"type": "module"`.
 * Both run in the project folder: the current one when `dir` is inside it.
 */
function printSetup(ctx: CliContext, dir: string): void {
  const inside = !relative(ctx.cwd, dir).startsWith('..') && !isAbsolute(relative(ctx.cwd, dir))
  const project = inside ? ctx.cwd : dir
  const missing = ['@tunekit/core', '@tunekit/recipes', '@tunekit/cli'].filter((p) => !canResolve(dir, p))
  const install = missing.length > 0 ? installHint(tunekitOrigin(), missing, project) : undefined
  const type = moduleType(dir)
  // `npm install` writes a package.json where there is none; `npm pkg set` needs one.
  const esm = type === 'module' ? [] : [...(type === undefined && !install ? ['npm init -y'] : []), 'npm pkg set type=module']
  const steps = [...(install ? [install.command] : []), ...esm]
  if (steps.length === 0) return
  const cd = project === ctx.cwd ? '' : `cd ${shellWord(relative(ctx.cwd, project))} && `
  ctx.out(`  first: ${cd}${steps.join(' && ')}\n`)
  if (install?.note) ctx.out(`    (${install.note})\n`)
  if (esm.length > 0) ctx.out('    (a recipe ends in a top-level `await main(…)`: tsx runs it as an ES module only under "type": "module")\n')
}

/**
 * Scaffolds a publishable recipe package from `templates/package/`: package.json, src (a factory
 * and a ready recipe), a test that validates every recipe, README, tsconfigs. Names follow the
 * package name: `@acme/chat-recipes` gets `acmeChat…`. Returns the folder written.
 */
export async function initPackage(ctx: CliContext, target: string | undefined, opts: InitOptions): Promise<string> {
  const dir = resolve(ctx.cwd, target ?? 'my-recipes')
  if (existsSync(dir) && readdirSync(dir).length > 0 && !opts.force) fail('TargetExists', { path: 'target', value: relative(ctx.cwd, dir) || '.' }, relative(ctx.cwd, dir) || '.', 'is a folder that is not empty')
  const pkgName = opts.name ?? basename(dir)
  // '@acme/chat-recipes' → acmeChat / 'acme-chat'; 'support-bot' → supportBotChat / 'support-bot-chat'.
  const scope = /^@([^/]+)\//.exec(pkgName)?.[1]
  const stem = [scope, kebab(pkgName).replace(/-?recipes?$/, '')].filter(Boolean).join('-') || 'my'
  const factory = camel(stem.endsWith('chat') ? stem : `${stem}-chat`)
  const recipeName = kebab(factory)
  const model = checkModel(opts)

  // Build in a sibling temp folder, renamed into place at the end: a failure leaves nothing half-written.
  const finalDir = dir
  const work = `${finalDir}.tunekit-init-${process.pid}`
  rmSync(work, { recursive: true, force: true })
  mkdirSync(dirname(work), { recursive: true })
  cpSync(join(templatesDir(), 'package'), work, { recursive: true })
  rmSync(join(work, 'node_modules'), { recursive: true, force: true })
  try {
    await editPackage(work, { pkgName, factory, recipeName, model, tunekit: tunekitSpecs(finalDir) })
  } catch (e) {
    rmSync(work, { recursive: true, force: true })
    throw e
  }
  rmSync(finalDir, { recursive: true, force: true })
  renameSync(work, finalDir)
  const rel = relative(ctx.cwd, finalDir) || '.'
  ctx.out(`✔ wrote the recipe package ${pkgName} in ${rel}/\n  ${factory}() in src/${recipeName}.ts, a recipe in src/recipes/${recipeName}.ts, a test in test/\n`)
  if (tunekitFromSource(finalDir)) {
    // @tunekit/* come from this checkout's node_modules; `npm install` would look for them on the registry.
    ctx.out(`  next: cd ${rel} && npm test   (tunekit resolves from this checkout: no npm install needed here)\n`)
    return finalDir
  }
  printPackageNext(ctx, rel, finalDir)
  return finalDir
}

/** The next step for a recipe package in `dir` (shown as `rel`) that installs tunekit. */
function printPackageNext(ctx: CliContext, rel: string, dir: string): void {
  const origin = tunekitOrigin()
  if (origin.kind === 'checkout') {
    // package.json keeps the ranges it will be published with; the tarballs stand in until then.
    const hint = installHint(origin, [], dir)
    ctx.out(`  next: cd ${shellWord(rel)} && ${hint.command} && npm test\n    (${hint.note})\n`)
    return
  }
  ctx.out(`  next: cd ${shellWord(rel)} && npm install && npm test\n`)
  if (origin.kind === 'tarballs') {
    const from = installPath(dirname(origin.tarballs.get('@tunekit/cli')!), ctx.cwd)
    ctx.out(`    (@tunekit/* come from the tarballs in ${from}: before publishing, set them to ^${packageVersion()} once tunekit is on the registry)\n`)
  }
}

/** The @tunekit specs of a new recipe package in `dir`: none from a source checkout (it resolves them). */
function tunekitSpecs(dir: string): Map<string, string> | undefined {
  if (tunekitFromSource(dir)) return undefined
  return dependencySpecs(tunekitOrigin(), ['@tunekit/core', '@tunekit/recipes', '@tunekit/cli'], dir)
}

/** Renames and edits the copied package template in `dir`. */
async function editPackage(
  dir: string,
  names: { pkgName: string; factory: string; recipeName: string; model: { id: string; family: string } | undefined; tunekit: Map<string, string> | undefined },
): Promise<void> {
  const { pkgName, factory, recipeName, model, tunekit } = names

  const { IndentationText, Project, SyntaxKind } = await import('ts-morph')
  const project: Project = new Project({ tsConfigFilePath: join(dir, 'tsconfig.json'), manipulationSettings: { indentationText: IndentationText.TwoSpaces } })
  project.addSourceFileAtPath(join(dir, 'vitest.config.ts'))
  // Rename the factory everywhere it is used (src and test), then the files, then the names in strings.
  const factoryFile = project.getSourceFileOrThrow(join(dir, 'src', 'support-chat.ts'))
  factoryFile.getFunctionOrThrow('supportChat').rename(factory)
  factoryFile.move(join(dir, 'src', `${recipeName}.ts`))
  const recipeFile = project.getSourceFileOrThrow(join(dir, 'src', 'recipes', 'support-chat.ts'))
  recipeFile.move(join(dir, 'src', 'recipes', `${recipeName}.ts`))
  recipeFile.replaceWithText(recipeFile.getFullText().replaceAll('support-chat', recipeName))
  await editRecipe(recipeFile, recipeName, model)
  const index = project.getSourceFileOrThrow(join(dir, 'src', 'index.ts'))
  for (const decl of index.getExportDeclarations()) {
    for (const spec of decl.getNamedExports()) if (spec.getAliasNode()?.getText() === 'supportChatRecipe') spec.setAlias(`${factory}Recipe`)
  }
  if (tunekitFromSource(dir)) {
    // tunekit is a source checkout here (a monorepo or a link): resolve it through `source`.
    const vitest = project.getSourceFileOrThrow(join(dir, 'vitest.config.ts'))
    const config = vitest.getFirstDescendantByKindOrThrow(SyntaxKind.ObjectLiteralExpression)
    config.insertPropertyAssignments(0, [
      { name: 'resolve', initializer: "{ conditions: ['source'] }" },
      { name: 'ssr', initializer: "{ resolve: { conditions: ['source'], externalConditions: ['source'] } }" },
    ])
  }
  // ts-morph writes moved imports without an extension; NodeNext needs the `.ts` the template had.
  for (const file of project.getSourceFiles()) {
    for (const decl of [...file.getImportDeclarations(), ...file.getExportDeclarations()]) {
      const spec = decl.getModuleSpecifierValue()
      if (spec?.startsWith('.') && extname(spec) === '') decl.setModuleSpecifier(`${spec}.ts`)
    }
  }
  await project.save()
  // `move` left the old files' names behind in the in-memory graph only; drop stale copies on disk.
  for (const old of [join(dir, 'src', 'support-chat.ts'), join(dir, 'src', 'recipes', 'support-chat.ts')]) {
    if (recipeName !== 'support-chat' && existsSync(old)) rmSync(old)
  }

  const pkgFile = join(dir, 'package.json')
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as Record<string, unknown> & PackageJson & { scripts: Record<string, string> }
  pkg.name = pkgName
  pkg.scripts.check = `tunekit check src/recipes/${recipeName}.ts`
  if (tunekit) setTunekitSpecs(pkg, tunekit)
  writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`)
  const packages = tunekitSourcePackages(dir)
  if (packages !== undefined) {
    const tsconfigFile = join(dir, 'tsconfig.json')
    const tsconfig = JSON.parse(readFileSync(tsconfigFile, 'utf8')) as { compilerOptions: Record<string, unknown> }
    tsconfig.compilerOptions.customConditions = ['source']
    // tsx ignores export conditions but reads `paths` (as the monorepo's own tsconfig does), so
    // `npx tsx src/recipes/….ts` runs on the sources too. `dir` is a sibling of the final folder.
    const rel = relative(dir, packages)
    tsconfig.compilerOptions.paths = { '@tunekit/*': [`${rel}/*/src/index.ts`] }
    // The build must not: through `paths` tunekit's sources would join the program, outside rootDir.
    const buildFile = join(dir, 'tsconfig.build.json')
    const build = JSON.parse(readFileSync(buildFile, 'utf8')) as { compilerOptions: Record<string, unknown> }
    build.compilerOptions.paths = {}
    writeFileSync(buildFile, `${JSON.stringify(build, null, 2)}\n`)
    writeFileSync(tsconfigFile, `${JSON.stringify(tsconfig, null, 2)}\n`)
  }
  const readme = join(dir, 'README.md')
  writeFileSync(
    readme,
    readFileSync(readme, 'utf8').replaceAll('tunekit-recipes-template', pkgName).replaceAll('supportChatRecipe', `${factory}Recipe`).replaceAll('supportChat', factory),
  )
}

type PackageJson = { dependencies: Record<string, string>; devDependencies: Record<string, string> }

/**
 * Points the template's @tunekit dependencies at `specs`; tarballs it does not name (the CLI's
 * own dependencies, which the registry cannot supply) join devDependencies.
 */
function setTunekitSpecs(pkg: PackageJson, specs: ReadonlyMap<string, string>): void {
  for (const [name, spec] of specs) {
    if (name in pkg.dependencies) pkg.dependencies[name] = spec
    else pkg.devDependencies[name] = spec
  }
  pkg.devDependencies = Object.fromEntries(Object.entries(pkg.devDependencies).sort(([a], [b]) => a.localeCompare(b)))
}

/** This CLI's version: its packages are released together (docs/release.md). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8')) as { version: string }).version
}

export const initCommand: CliCommand = (ctx) =>
  new Command('init')
    .description('Scaffold a recipe file, or with --package a recipe package ready to publish.')
    .argument('[target]', 'recipe file (default recipes/<name>.ts) or, with --package, the package folder')
    .option('--package', 'scaffold a publishable recipe package (package.json, src, README, a test)')
    .option('--name <name>', 'recipe name, or with --package the npm package name')
    .option('--model <id>', "base model's Hub id (default: a tiny random model that runs anywhere)")
    .option('--family <family>', `model family when --model is not a known checkpoint (${familyNames.filter((f) => f !== 'auto').join(', ')})`)
    .option('--force', 'overwrite existing files')
    .action(async (target: string | undefined, opts: InitOptions) => {
      if (opts.package) await initPackage(ctx, target, opts)
      else await initRecipeFile(ctx, target, opts)
    })
