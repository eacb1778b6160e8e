// The images of a multimodal record (LLaMA-Factory's `images` column, openai `image_url` parts):
// read as written by the parsers, counted against the `<image>` placeholders, then resolved to
// files by the format step.
import { statSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describeValue } from '../util/describe.ts'
import { problem, type Message } from './conversation.ts'

/** LLaMA-Factory's IMAGE_PLACEHOLDER: where each image goes in the text. */
export const imagePlaceholder = '<image>'

/**
 * An `images` column: a list of paths, or one path (LLaMA-Factory wraps a non-list); absent or
 * null is undefined (the record declares no images).
 */
export function imageColumn(value: unknown, column: string): string[] | undefined {
  if (value === undefined || value === null) return undefined
  const list = Array.isArray(value) ? value : [value]
  return list.map((v, i) => (typeof v === 'string' && v !== '' ? v : problem(`${JSON.stringify(column)} entry ${i + 1} is ${describeValue(v)}, not an image path`)))
}

/** An openai `image_url` part's url as a path: a plain path or file:// URL; anything else (http, data:) is ImageUrlNotLocal. */
export function imageUrlPath(part: Record<string, unknown>, where: string): string {
  const field = part.image_url
  const url = typeof field === 'string' ? field : typeof field === 'object' && field !== null ? (field as { url?: unknown }).url : undefined
  if (typeof url !== 'string' || url === '') return problem(`${where} has no image_url.url`)
  if (url.startsWith('file://')) return fileURLToPath(url)
  if (/^[a-z][a-z0-9+.-]*:/i.test(url) && !/^[a-z]:[\\/]/i.test(url)) return problem(`${where} has the image_url ${JSON.stringify(url.length > 60 ? `${url.slice(0, 57)}...` : url)}`, 'ImageUrlNotLocal')
  return url
}

const countPlaceholders = (messages: readonly Message[]): number => messages.reduce((n, m) => n + m.content.split(imagePlaceholder).length - 1, 0)

/** A record that declares images must have one `<image>` per image (ImageCountMismatch otherwise). */
export function checkPlaceholders(messages: readonly Message[], images: readonly string[]): void {
  const placeholders = countPlaceholders(messages)
  if (placeholders !== images.length) problem(`${placeholders} ${imagePlaceholder} placeholder(s) in its messages and ${images.length} image(s)`, 'ImageCountMismatch')
}

/**
 * Each image path resolved against `dir` (absolute paths kept), checked to be a file (ImageMissing
 * names it as written and as resolved; `shown` shortens the resolved path for the message).
 */
export function resolveImages(images: readonly string[], dir: string, shown: (path: string) => string): string[] {
  return images.map((written) => {
    const path = isAbsolute(written) ? written : resolve(dir, written)
    let file = false
    try {
      file = statSync(path).isFile()
    } catch {
      // a missing path is reported below
    }
    if (!file) problem(`names the image ${JSON.stringify(written)}, resolved to ${JSON.stringify(shown(path))}, which is not a file`, 'ImageMissing')
    return path
  })
}
