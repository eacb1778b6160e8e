import { errors, type ErrorName } from './catalog.ts'

/** One problem: a catalog entry applied to a path and a value. */
export interface Issue {
  /** Stable code from the catalog, e.g. `TK102`. */
  code: string
  /** Catalog entry name. */
  name: ErrorName
  /** Dotted path into the recipe (or the file, record, node), e.g. `lora.rank`. */
  path: string
  /** The value the user gave, when there is one. */
  value?: unknown
  /** What happened. */
  message: string
  /** What to do. */
  hint: string
  /** `error` stops the run; `warning` is reported and the run goes on. */
  severity: 'error' | 'warning'
}

type Args<N extends ErrorName> = Parameters<(typeof errors)[N]['message']>
type HintArgs<N extends ErrorName> = (typeof errors)[N]['hint'] extends (...a: infer A) => string ? A : []

/** Builds an {@link Issue} from a catalog entry. */
export function issue<N extends ErrorName>(
  name: N,
  opts: { path?: string; value?: unknown; severity?: 'error' | 'warning'; hintArgs?: HintArgs<N> },
  ...args: Args<N>
): Issue {
  const entry = errors[name]
  const message = (entry.message as (...a: unknown[]) => string)(...args)
  const hint =
    typeof entry.hint === 'function'
      ? (entry.hint as (...a: unknown[]) => string)(...((opts.hintArgs as unknown[] | undefined) ?? []))
      : entry.hint
  const out: Issue = { code: entry.code, name, path: opts.path ?? '', message, hint, severity: opts.severity ?? 'error' }
  if ('value' in opts) out.value = opts.value
  return out
}

// A string value (a path, a name) is shown whole up to 200 characters, and beyond that with its
// middle cut out: the end of a path is the part that names the file. Other values (records, arrays)
// are cut at 60 characters.
const showValue = (value: unknown): string => {
  try {
    const text = JSON.stringify(value)
    if (text === undefined) return String(value)
    if (typeof value === 'string') return text.length > 200 ? `${text.slice(0, 80)}…${text.slice(-119)}` : text
    return text.length > 60 ? `${text.slice(0, 57)}...` : text
  } catch {
    return String(value)
  }
}

/** Formats one issue the way zod does: `✖ message → at path`, then the value and the fix. */
export function formatIssue(i: Issue): string {
  const mark = i.severity === 'error' ? '✖' : '⚠'
  const lines = [`${mark} ${i.code} ${i.message}${i.path ? ` → at ${i.path}` : ''}`]
  if ('value' in i) lines.push(`  value: ${showValue(i.value)}`)
  lines.push(`  fix: ${i.hint}`)
  return lines.join('\n')
}

// A brand shared by every copy of this module: a recipe imported through tsx's namespaced loader,
// or a second install of @tunekit/core, has its own TunekitError class, so `instanceof` alone
// would take a user's mistake for a crash.
const brand = Symbol.for('tunekit.error')
// Set TUNEKIT_DEBUG=1 to keep stack traces on user errors (for debugging tunekit itself).
const debug = (): boolean => Boolean((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.TUNEKIT_DEBUG)

/** Base error of tunekit: carries every issue found, never just the first. */
export class TunekitError extends Error {
  /** Every problem found, in order. */
  declare readonly issues: readonly Issue[]
  constructor(issues: readonly Issue[], title?: string) {
    const head = title ?? (issues.length === 1 ? errors[issues[0]!.name].title : `${issues.length} problems`)
    super(`${head}\n${issues.map(formatIssue).join('\n')}`)
    this.name = 'TunekitError'
    // Not enumerable, so that Node printing an uncaught error shows the formatted text once
    // rather than the message followed by a dump of the issue objects.
    Object.defineProperty(this, 'issues', { value: issues, enumerable: false })
    Object.defineProperty(this, brand, { value: true })
    // A user's mistake is reported by its text alone: Node prints `stack` for an uncaught error,
    // and frames inside tunekit say nothing about the recipe.
    if (!debug()) this.stack = `${this.name}: ${this.message}`
  }
  /** The stable code of the first issue. */
  get code(): string {
    return this.issues[0]?.code ?? 'TK000'
  }
}

/** Thrown when a recipe is invalid; `.issues` lists every problem at once. */
export class RecipeError extends TunekitError {
  constructor(issues: readonly Issue[]) {
    super(issues, `Recipe has ${issues.length} problem${issues.length === 1 ? '' : 's'}`)
    this.name = 'RecipeError'
    if (!debug()) this.stack = `${this.name}: ${this.message}`
  }
}

/** Throws a one-issue {@link TunekitError} from a catalog entry. */
export function fail<N extends ErrorName>(
  name: N,
  opts: { path?: string; value?: unknown; hintArgs?: HintArgs<N> },
  ...args: Args<N>
): never {
  throw new TunekitError([issue(name, opts, ...args)])
}

/** True for errors a user caused (recipe, data, files): printed without a stack trace. */
export function isTunekitError(e: unknown): e is TunekitError {
  return e instanceof TunekitError || (e instanceof Error && (e as unknown as Record<symbol, unknown>)[brand] === true)
}
