// prepack: copies the repository's templates/ into the package (templates/, git-ignored here) so
// that `tunekit init` finds them once installed. What a try-out of a template leaves behind
// (node_modules, dist, run and cache folders, build info) stays out of the tarball.
import { cpSync, rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
const from = join(pkg, '..', '..', 'templates')
const to = join(pkg, 'templates')
const leftovers = new Set(['node_modules', 'dist', 'runs', '.tunekit', '__pycache__'])

rmSync(to, { recursive: true, force: true })
cpSync(from, to, { recursive: true, filter: (src) => !leftovers.has(basename(src)) && !src.endsWith('.tsbuildinfo') })
