// Shared by the reliability tests: run the real CLI on a recipe folder, and find what a failed
// run may have left behind.
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from '@tunekit/cli'

/** One run of `tunekit …` in `cwd`: the exit code, stdout and stderr. */
export async function cli(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(args, { cwd, out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

/** The run events of a `--json` run's stdout. */
export const eventsOf = (out: string): { type: string; node?: string; key?: string; code?: string; done?: number }[] =>
  out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; node?: string; key?: string })

/** The node that started and never ended (the one that failed), or null when none started. */
export function failedNode(events: ReturnType<typeof eventsOf>): { node: string; key: string } | null {
  const ended = new Set(events.filter((e) => e.type === 'node-end').map((e) => e.node))
  const start = events.filter((e) => e.type === 'node-start' && !ended.has(e.node)).at(-1)
  return start ? { node: start.node!, key: start.key! } : null
}

/** Paths under `dirs` that only a writer interrupted mid-way leaves: `*.tmp-*` files, `tmp/` entries. */
export function partialArtifacts(...dirs: string[]): string[] {
  const found: string[] = []
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name)
      if (/\.tmp-/.test(e.name)) found.push(full)
      if (e.isDirectory()) {
        if (e.name === 'tmp' && readdirSync(full).length > 0) found.push(full)
        walk(full)
      }
    }
  }
  for (const dir of dirs) if (existsSync(dir)) walk(dir)
  return found
}
