import { writeJsonAtomic } from '@tunekit/core'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * `tunekit_method.json`: which method a non-PEFT train artifact holds (`{ "kind": "full" }`, or
 * freeze's options and trained tensor names). A PEFT adapter says it in adapter_config.json instead.
 */
export const METHOD_FILE = 'tunekit_method.json'

export const writeMethodFile = (dir: string, json: { kind: string } & Record<string, unknown>): Promise<void> => writeJsonAtomic(join(dir, METHOD_FILE), json)

/** The method file of a folder, or undefined when there is none. */
export async function readMethodFile(dir: string): Promise<({ kind: string } & Record<string, unknown>) | undefined> {
  const text = await readFile(join(dir, METHOD_FILE), 'utf8').catch(() => undefined)
  return text === undefined ? undefined : (JSON.parse(text) as { kind: string } & Record<string, unknown>)
}
