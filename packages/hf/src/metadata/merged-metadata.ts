// The metadata of a merged model, computed from the base folder and the training tokenizer alone,
// so the tfjs merge and the torch worker's merge (which writes only the safetensors) end with the
// same config.json, generation_config.json and tokenizer files, byte for byte.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readModelConfig } from '../hf-folder.ts'
import { tokenizerFilesFrom } from '../random-model.ts'
import { readWeightHeadersSync } from '../sharded.ts'
import type { StoredFloatDtype } from './model-config-json.ts'
import { writeModelMetadata } from './write-model-metadata.ts'

export interface MergedMetadata {
  /** The base model folder. */
  baseDir: string
  /** The recipe's model.family when it reads config.json otherwise than by model_type ('auto'). */
  family?: string
  /** Vocabulary rows after adding tokens; the config grows to it (never shrinks). */
  vocabSize?: number
  /** Whether lm_head is still the embedding (not when a LoRA saved either one as its own copy). */
  tied: boolean
  /** The training tokenizer's eos and pad ids: the merged model stops where training taught it to. */
  eosTokenId?: number
  padTokenId?: number
  /** Folder with the training tokenizer (tokenizer.json with added tokens, tokenizer_config.json, …). */
  tokenizerDir?: string
  chatTemplate?: string
  /** Storage type of the merged weights. */
  dtype: StoredFloatDtype
  /** A reward model (its artifact trained the head `score`): config.json of `<Family>ForSequenceClassification`. */
  sequenceClassification?: boolean
}

/** Writes a merged model's config.json, generation_config.json and tokenizer files into `dir`. */
export async function writeMergedMetadata(dir: string, o: MergedMetadata): Promise<void> {
  const { family, config, json } = await readModelConfig(o.baseDir, o.family)
  await writeModelMetadata(dir, {
    family,
    config: {
      ...config,
      vocabSize: Math.max(config.vocabSize, o.vocabSize ?? 0),
      eosTokenId: o.eosTokenId ?? config.eosTokenId,
      tieWordEmbeddings: o.tied,
    },
    base: json,
    dtype: o.dtype,
    ...(o.tokenizerDir ? { tokenizerFiles: await tokenizerFilesFrom(o.tokenizerDir, config.maxPositionEmbeddings) } : {}),
    ...(o.chatTemplate !== undefined ? { chatTemplate: o.chatTemplate } : {}),
    ...(o.padTokenId !== undefined ? { padTokenId: o.padTokenId } : {}),
    ...(o.sequenceClassification ? { sequenceClassification: true } : {}),
    // a vision-language model's image processor, as the base has it
    ...(existsSync(join(o.baseDir, 'preprocessor_config.json')) ? { preprocessorConfig: await readFile(join(o.baseDir, 'preprocessor_config.json')) } : {}),
  })
}

/** The storage type of a folder's float weights (the first float tensor's; F32 when there is none). */
export function storedFloatDtype(dir: string): StoredFloatDtype {
  for (const entry of readWeightHeadersSync(dir).values()) {
    if (entry.dtype === 'F32' || entry.dtype === 'F16' || entry.dtype === 'BF16') return entry.dtype
  }
  return 'F32'
}

/** Whether a merged model keeps lm_head tied to the embedding: not when either was saved as its own copy. */
export function tiedAfterMerge(baseTied: boolean, savedModules: readonly string[]): boolean {
  return baseTied && !savedModules.includes('embed_tokens') && !savedModules.includes('lm_head')
}
