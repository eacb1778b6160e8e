import { mkdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { tempName, writeFileAtomic } from '@tunekit/core'
import type { LoadedTokenizer } from './load.ts'

/**
 * Writes `tokenizer.json` (with the added tokens) and `tokenizer_config.json` (with eos, pad and
 * `chat_template`) into `dir`, plus `chat_template.jinja`, so transformers and Python `tokenizers`
 * load exactly what tunekit trained with. The folder appears whole or not at all.
 */
export async function saveTokenizer(tok: LoadedTokenizer, dir: string, chatTemplate?: string): Promise<void> {
  const tmp = tempName(dir)
  await mkdir(tmp, { recursive: true })
  const config: Record<string, unknown> = { ...tok.config }
  if (chatTemplate !== undefined) config.chat_template = chatTemplate
  if (config.tokenizer_class === undefined) config.tokenizer_class = 'PreTrainedTokenizerFast'
  await writeFileAtomic(join(tmp, 'tokenizer.json'), JSON.stringify(tok.json))
  await writeFileAtomic(join(tmp, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`)
  const special: Record<string, string> = { eos_token: tok.eos.token, pad_token: tok.pad.token }
  if (tok.bos) special.bos_token = tok.bos.token
  await writeFileAtomic(join(tmp, 'special_tokens_map.json'), `${JSON.stringify(special, null, 2)}\n`)
  if (chatTemplate !== undefined) await writeFileAtomic(join(tmp, 'chat_template.jinja'), chatTemplate)
  await rm(dir, { recursive: true, force: true })
  await rename(tmp, dir)
}
