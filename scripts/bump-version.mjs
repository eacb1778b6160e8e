// Sets one version on every tunekit package and on the references between them (they are
// released together and pin each other exactly), and the @tunekit ranges of the recipe-package
// template (docs/release.md).
// Usage: node scripts/bump-version.mjs 0.2.0 && npm install   (npm install refreshes the lockfile)
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const version = process.argv[2]
if (!version || !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version)) {
  process.stderr.write('usage: node scripts/bump-version.mjs <major.minor.patch[-pre]>\n')
  process.exit(1)
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const names = new Set(workspaces.map((w) => JSON.parse(readFileSync(join(root, w, 'package.json'), 'utf8')).name))

/** Sets the version of one workspace package and its exact pins on the others. */
function bump(file) {
  const pkg = JSON.parse(readFileSync(file, 'utf8'))
  pkg.version = version
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
    for (const name of Object.keys(pkg[field] ?? {})) if (names.has(name)) pkg[field][name] = version
  }
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`)
}

for (const w of workspaces) bump(join(root, w, 'package.json'))
// The template keeps its hand-written layout: only its @tunekit ranges change.
const template = join(root, 'templates', 'package', 'package.json')
writeFileSync(template, readFileSync(template, 'utf8').replace(/("@tunekit\/[a-z-]+": ")\^[^"]+"/g, `$1^${version}"`))
process.stdout.write(`${[...names].join(', ')} → ${version}; now run npm install to update package-lock.json\n`)
