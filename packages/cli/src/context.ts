// What every command receives, apart from program.ts (which imports every command), so that the
// commands depend on this file and not on the program: no import cycle.
import type { Command } from 'commander'
import type { Recipe } from '@tunekit/core'

/** What every command gets: where to write, the recipe preset by `main()`, and Ctrl-C. */
export interface CliContext {
  /** Normal output (stdout). */
  out: (text: string) => void
  /** Problems and progress (stderr). */
  err: (text: string) => void
  /** Directory that relative paths on the command line resolve from. */
  cwd: string
  /** The recipe of the file that called `main(import.meta, recipe)`; commands use it when no file is given. */
  preset?: { recipe: Recipe; file: string }
  /** Aborted on the first Ctrl-C: a long command stops at its next safe point (after a checkpoint). */
  signal: AbortSignal
  /**
   * Exit code a command sets when it finished but found problems (`check` sets 1). To fail with
   * the formatted issues instead, throw a `TunekitError` (exit 1, no stack trace).
   */
  exitCode: number
}

/** A command: builds its commander `Command` for a context. */
export type CliCommand = (ctx: CliContext) => Command
