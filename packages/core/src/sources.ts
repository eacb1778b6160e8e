import type { z } from 'zod'
import type { fileSourceSchema, hubSourceSchema, inlineSourceSchema } from './schema/data.ts'

/** A Hugging Face Hub dataset source, as a recipe gives it. */
export type HubSource = z.input<typeof hubSourceSchema>
/** A local files source, as a recipe gives it. */
export type FileSource = z.input<typeof fileSourceSchema>
/** Records written in the recipe, as a recipe gives them. */
export type InlineSource = z.input<typeof inlineSourceSchema>

/** A Hugging Face Hub dataset, read from the Hub cache (downloaded once when the network allows). */
export const hub = (repo: string, options: Omit<HubSource, 'kind' | 'repo'> = {}): HubSource => ({ kind: 'hub', repo, ...options })

/** Local json, jsonl, csv or parquet files, or a folder of them. */
export const file = (path: string | string[], options: Omit<FileSource, 'kind' | 'path'> = {}): FileSource => ({ kind: 'file', path, ...options })

/** Records given in the recipe itself. */
export const inline = (records: Record<string, unknown>[]): InlineSource => ({ kind: 'inline', records })
