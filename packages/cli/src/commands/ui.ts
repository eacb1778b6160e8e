import { spawn } from 'node:child_process'
import { Command } from 'commander'
import { fail } from '@tunekit/core'
import type { CliCommand, CliContext } from '../context.ts'
import { startUiServer } from '../ui/server.ts'

export interface UiOptions {
  port?: string
  open?: boolean
}

/** Opens `url` in the system's browser (xdg-open, open, start); a failure only means the user opens it. */
function openBrowser(url: string): void {
  const [cmd, ...args] = process.platform === 'darwin' ? ['open'] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""'] : ['xdg-open']
  const child = spawn(cmd!, [...args, url], { stdio: 'ignore', detached: true })
  child.on('error', () => {})
  child.unref()
}

/**
 * `tunekit ui [recipes…]`: the local web dashboard on 127.0.0.1 (docs/ui.md). Prints the URL with
 * this launch's token and serves until Ctrl-C, which stops the runs it started (each checkpoints).
 */
export async function ui(ctx: CliContext, recipes: readonly string[], opts: UiOptions): Promise<void> {
  const port = opts.port !== undefined ? Number(opts.port) : 0
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('UiBadPort', { path: '--port', value: opts.port }, String(opts.port))
  const server = await startUiServer({ root: ctx.cwd, recipes, port })
  ctx.out(`tunekit ui: ${server.url}\n(the token in the URL is this launch's; Ctrl-C stops the dashboard and the runs it started)\n`)
  if (opts.open) openBrowser(server.url)
  await new Promise<void>((done) => (ctx.signal.aborted ? done() : ctx.signal.addEventListener('abort', () => done(), { once: true })))
  await server.close()
}

export const uiCommand: CliCommand = (ctx) =>
  new Command('ui')
    .description('Open the local web dashboard: runs, live curves, the graph and plan, start / stop / resume from a recipe, chat with a merged model.')
    .argument('[recipes...]', 'recipe files the dashboard may start; default: the files in ./recipes')
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one)')
    .option('--open', 'open the URL in the browser')
    .action(async (recipes: string[], opts: UiOptions) => {
      await ui(ctx, recipes, opts)
    })
