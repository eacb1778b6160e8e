// `tunekit ui`'s HTTP server: node's own http on 127.0.0.1, every request checked by guard.ts,
// the page's five assets and a JSON API over the project's run folders (api.ts). Nothing a
// request sends is evaluated: recipe files are picked by id from the list given at launch, run
// folders by id from the list of run folders, and overrides are data checked as `--set` flags.
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { formatIssue, isTunekitError, issue, TunekitError } from '@tunekit/core'
import { apiRoutes, type ApiState } from './api.ts'
import { closeChats } from './chat-session.ts'
import { newToken, refusal } from './guard.ts'
import { HttpError, sendJson } from './http.ts'
import { createLauncher } from './launcher.ts'
import { offeredRecipes } from './recipe-form.ts'

/** The page and its assets, served from the package's sources (src/ui/assets, shipped in the tarball). */
const ASSETS_DIR = fileURLToPath(new URL('../../src/ui/assets/', import.meta.url))
const ASSETS: Record<string, string> = {
  '/': 'index.html',
  '/assets/app.js': 'app.js',
  '/assets/chart.js': 'chart.js',
  '/assets/form.js': 'form.js',
  '/assets/app.css': 'app.css',
}
const TYPES: Record<string, string> = { html: 'text/html', js: 'text/javascript', css: 'text/css' }

export interface UiServerOptions {
  /** The project folder: run folders are `<root>/runs/*`, runs start here. */
  root: string
  /** Recipe files to offer; default: `<root>/recipes/*`. */
  recipes?: readonly string[]
  /** 0 (default) lets the system pick a free port. */
  port?: number
}

export interface UiServer {
  /** The URL to open, with the token. */
  url: string
  port: number
  token: string
  /** Stops the runs it started (each checkpoints) and closes the server. */
  close(): Promise<void>
}

function serveAsset(res: ServerResponse, name: string, token: string): void {
  const text = readFileSync(`${ASSETS_DIR}${name}`, 'utf8')
  const type = TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'text/plain'
  // The page learns the token from the HTML, and loads its assets with it.
  const body = name === 'index.html' ? text.replaceAll('{{token}}', token) : text
  res.writeHead(200, {
    'content-type': `${type}; charset=utf-8`,
    'cache-control': 'no-store',
    // Only this server's own scripts and styles, no inline script, no framing by another page.
    'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
  })
  res.end(body)
}

function answerError(res: ServerResponse, e: unknown): void {
  if (res.headersSent) return void res.end()
  if (isTunekitError(e)) {
    const issues = e.issues.map((i) => ({ ...i, text: formatIssue(i) }))
    return sendJson(res, 400, { error: e.message, issues })
  }
  if (e instanceof HttpError) return sendJson(res, e.status, { error: e.message })
  process.stderr.write(`tunekit ui: a request crashed; this is a bug in tunekit.\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  sendJson(res, 500, { error: 'tunekit crashed on this request (a bug); the trace is on the terminal of `tunekit ui`' })
}

/** Starts the dashboard on 127.0.0.1; UiPortInUse (TK722) when the port is taken. */
export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const token = newToken()
  const state: ApiState = { root: opts.root, offered: offeredRecipes(opts.root, opts.recipes ?? []), launcher: createLauncher(opts.root), engines: new Map() }
  const routes = apiRoutes(state)
  let port = 0
  const server: Server = createServer((req, res) => {
    const why = refusal(req, token, port)
    if (why) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' })
      return void res.end(`${why}\n`)
    }
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`)
    const asset = ASSETS[url.pathname]
    if (asset && req.method === 'GET') return serveAsset(res, asset, token)
    const route = routes[`${req.method} ${url.pathname}`]
    if (!route) return sendJson(res, 404, { error: `no ${req.method} ${url.pathname}` })
    route(req, res, url).catch((e: unknown) => answerError(res, e))
  })
  await new Promise<void>((done, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? reject(new TunekitError([issue('UiPortInUse', { path: '--port', value: opts.port }, opts.port ?? 0)])) : reject(e)))
    server.listen(opts.port ?? 0, '127.0.0.1', () => done())
  })
  port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      await state.launcher.stopAll()
      await closeChats(state.engines)
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
    },
  }
}
