// Who may talk to the dashboard: a request must carry this launch's token (the `token` query
// parameter or the `x-tunekit-token` header) and name this server as its Host. The token keeps
// other local users and web pages out (they cannot read the URL printed on this terminal); the
// Host check defeats DNS rebinding, where a page on another name resolves it to 127.0.0.1.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** A fresh token for one launch: 24 random bytes, URL-safe base64 (32 characters). */
export const newToken = (): string => randomBytes(24).toString('base64url')

/** The token a request carries, if any. */
export function requestToken(req: IncomingMessage): string | undefined {
  const header = req.headers['x-tunekit-token']
  if (typeof header === 'string') return header
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? undefined
}

/** Equal tokens, compared in constant time (a timing difference would leak the token byte by byte). */
function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Why a request is refused, or undefined when it may go on. */
export function refusal(req: IncomingMessage, token: string, port: number): string | undefined {
  const host = req.headers.host
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return `refused: Host ${JSON.stringify(host ?? '')} is not this dashboard (127.0.0.1:${port})`
  if (!sameToken(requestToken(req), token)) return 'refused: this dashboard needs the token of the URL `tunekit ui` printed'
  return undefined
}
