// The metadata of a Hugging Face model folder, written the same way whichever backend wrote the
// weights: config.json, generation_config.json and the tokenizer files, the chat template both in
// tokenizer_config.json (transformers < 4.43 reads it only there and otherwise falls back to a
// default template without a word) and in chat_template.jinja (where transformers ≥ 4.43 saves it).
import type { ModelConfig } from '@tunekit/core'
import { writeFileAtomic, writeJsonAtomic } from '@tunekit/core'
import { join } from 'node:path'
import { writeModelConfigJson, type StoredFloatDtype } from './model-config-json.ts'
import { preprocessorConfigJson } from './preprocessor-config-json.ts'

export interface ModelMetadata {
  family: string
  config: ModelConfig
  /** The base model's config.json as parsed (fields tunekit does not model are kept). */
  base?: Record<string, unknown>
  /** Storage type of the weights beside it. @defaultValue 'F32' */
  dtype?: StoredFloatDtype
  /** Tokenizer files by name (tokenizer.json, tokenizer_config.json, special_tokens_map.json, …), written as they are. */
  tokenizerFiles?: Record<string, string | Uint8Array>
  /** Chat template: set as tokenizer_config.json `chat_template` and written as chat_template.jinja. */
  chatTemplate?: string
  /** The tokenizer's pad id (config.json and generation_config.json `pad_token_id`). */
  padTokenId?: number | null
  /** A reward model's folder (`AutoModelForSequenceClassification`): see modelConfigJson. */
  sequenceClassification?: boolean
  /**
   * preprocessor_config.json's bytes (a merged model: the base's); a vision-language model without
   * them gets preprocessorConfigJson's (a random one).
   */
  preprocessorConfig?: string | Uint8Array
}

const text = (data: string | Uint8Array): string => (typeof data === 'string' ? data : Buffer.from(data).toString('utf8'))

/** generation_config.json: the ids generation starts, stops and pads with. */
export function generationConfigJson(config: ModelConfig, padTokenId?: number | null): Record<string, unknown> {
  return {
    ...(config.bosTokenId !== null ? { bos_token_id: config.bosTokenId } : {}),
    ...(config.eosTokenId !== null ? { eos_token_id: config.eosTokenId } : {}),
    ...(padTokenId !== undefined && padTokenId !== null ? { pad_token_id: padTokenId } : {}),
  }
}

/** The tokenizer files with the chat template in tokenizer_config.json and in chat_template.jinja. */
export function tokenizerFilesWithTemplate(files: Record<string, string | Uint8Array>, chatTemplate: string | undefined): Record<string, string | Uint8Array> {
  if (chatTemplate === undefined) return { ...files }
  const raw = files['tokenizer_config.json']
  const config = raw === undefined ? {} : (JSON.parse(text(raw)) as Record<string, unknown>)
  return { ...files, 'tokenizer_config.json': `${JSON.stringify({ ...config, chat_template: chatTemplate }, null, 2)}\n`, 'chat_template.jinja': chatTemplate }
}

/** Writes config.json, generation_config.json and the tokenizer files into `dir`, each atomically. */
export async function writeModelMetadata(dir: string, m: ModelMetadata): Promise<void> {
  const dtype = m.dtype ?? 'F32'
  await writeModelConfigJson(join(dir, 'config.json'), m.family, m.config, { ...(m.base ? { base: m.base } : {}), dtype, padTokenId: m.padTokenId ?? null, ...(m.sequenceClassification ? { sequenceClassification: true } : {}) })
  await writeJsonAtomic(join(dir, 'generation_config.json'), generationConfigJson(m.config, m.padTokenId))
  const files = tokenizerFilesWithTemplate(m.tokenizerFiles ?? {}, m.chatTemplate)
  for (const [name, data] of Object.entries(files)) await writeFileAtomic(join(dir, name), data)
  const processor = m.preprocessorConfig ?? preprocessorConfigJson(m.config)
  if (processor !== undefined) await writeFileAtomic(join(dir, 'preprocessor_config.json'), typeof processor === 'string' || processor instanceof Uint8Array ? processor : `${JSON.stringify(processor, null, 2)}\n`)
}
