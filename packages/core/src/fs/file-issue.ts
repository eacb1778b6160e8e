// Maps a failed file-system call on a user's file to its catalog entry: a user who may not read a
// file, or a link that loops, made a mistake tunekit can name; anything else is a bug or the
// machine's fault and is rethrown as it is.
import { issue, TunekitError, type Issue } from '../errors/tunekit-error.ts'

const errnoOf = (error: unknown): string | undefined =>
  error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' ? (error as NodeJS.ErrnoException).code : undefined

/**
 * The catalog issue for `error`, raised by a call on `path` (a file or folder the recipe names at
 * `at`, e.g. `data.source.path`): EACCES / EPERM → DataFileUnreadable, ELOOP → DataSymlinkLoop,
 * ENOENT → DataFileNotFound, EISDIR → MalformedDataFile; undefined for any other error.
 */
export function fileIssue(error: unknown, path: string, at: string): Issue | undefined {
  switch (errnoOf(error)) {
    case 'EACCES':
    case 'EPERM':
      return issue('DataFileUnreadable', { path: at, value: path, hintArgs: [path] }, path, 'permission denied')
    case 'ELOOP':
      return issue('DataSymlinkLoop', { path: at, value: path }, path, 'a chain of links that never reaches a file')
    case 'ENOENT':
      return issue('DataFileNotFound', { path: at, value: path }, path)
    case 'EISDIR':
      return issue('MalformedDataFile', { path: at, value: path }, path, '', 'is a folder where a file was expected')
    default:
      return undefined
  }
}

/** Throws {@link fileIssue}'s catalog error for `error`, or `error` itself when it is not a user's mistake. */
export function rethrowFileError(error: unknown, path: string, at: string): never {
  const found = fileIssue(error, path, at)
  if (found) throw new TunekitError([found])
  throw error
}
