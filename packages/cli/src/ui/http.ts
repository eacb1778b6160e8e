// Small HTTP helpers of the dashboard's API: JSON answers, JSON bodies, refusals with a status.
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Largest request body accepted (bytes): a form's overrides or a chat conversation. */
const MAX_BODY = 256 * 1024

/** A JSON answer. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(JSON.stringify(value))
}

/** The JSON body of a POST; refused when it is not JSON (a plain HTML form cannot send it) or too large. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'send application/json')
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY) throw new HttpError(413, `bodies are limited to ${MAX_BODY} bytes`)
    chunks.push(chunk)
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // answered below
  }
  throw new HttpError(400, 'the body is not a JSON object')
}

/** A request the server cannot take (not a user's recipe problem: those are catalog issues). */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

