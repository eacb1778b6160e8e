import { Argument, Command } from 'commander'
import type { CliCommand } from '../context.ts'

interface SetupFlags {
  python?: string
  cuda?: boolean
}

/**
 * `tunekit setup torch`: creates the torch worker's Python environment from the lock shipped in
 * @tunekit/torch (or installs into `--python` / `TUNEKIT_PYTHON`), then checks the versions.
 */
export const setupCommand: CliCommand = (ctx) =>
  new Command('setup')
    .description("Install a backend's environment: `tunekit setup torch` creates the pinned Python environment.")
    .addArgument(new Argument('<backend>', 'backend to set up').choices(['torch']))
    .option('--python <path>', 'install into this Python instead of a managed virtual environment')
    .option('--cuda', 'also install bitsandbytes (default: when nvidia-smi finds a GPU)')
    .action(async (_backend: 'torch', opts: SetupFlags) => {
      const { setupTorch } = await import('@tunekit/torch')
      const check = await setupTorch({
        ...(opts.python !== undefined ? { python: opts.python } : {}),
        ...(opts.cuda !== undefined ? { cuda: opts.cuda } : {}),
        onLog: (line) => ctx.err(`${line}\n`),
      })
      const v = check.probe.versions
      ctx.out(`✔ torch backend ready: ${check.python}\n  ${Object.entries(v).map(([k, ver]) => `${k} ${ver ?? '—'}`).join(', ')}\n`)
      for (const m of check.mismatches) ctx.err(`⚠ ${m}\n`)
      if (check.mismatches.length > 0) ctx.err(`  fix: ${check.fix}\n`)
    })
