// A tiny Mistral-shaped model as tiny-chat's merged folder looks: 2 layers, hidden 64, the real
// Mistral tokenizer with ChatML's tokens added (32,002 rows, <|im_end|> as eos) and the ChatML
// chat template. Random weights (initializer range 0.02, as tiny-chat starts from); built once per
// test file.
import { knownCheckpoints, type ModelConfig } from '@tunekit/core'
import { builtinTemplates, loadTokenizer } from '@tunekit/data'
import { tokenizerFilesFrom, writeModelFolder, randomWeights } from '@tunekit/hf'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const tmp = (): Promise<string> => mkdtemp(join(tmpdir(), 'tk-gguf-'))

export interface TinyChatModel {
  dir: string
  config: ModelConfig
}

/** Writes the tiny ChatML Mistral model into a new temp folder. */
export async function tinyChatModel(opts: { family?: 'mistral' | 'llama'; seed?: number; initializerRange?: number } = {}): Promise<TinyChatModel> {
  const family = opts.family ?? 'mistral'
  const tokDir = await tmp()
  for (const [name, data] of Object.entries(await tokenizerFilesFrom('mistral', 2048))) await writeFile(join(tokDir, name), data)
  const tok = await loadTokenizer(tokDir, { chatml: true })
  const config: ModelConfig = { ...knownCheckpoints['tunekit/tiny-mistral']!.config, modelType: family, vocabSize: tok.vocabSize, bosTokenId: tok.bos!.id, eosTokenId: tok.eos.id }
  const dir = await tmp()
  await writeModelFolder(dir, {
    family,
    config,
    tensors: randomWeights(family, config, opts.seed ?? 0, { initializerRange: opts.initializerRange ?? 0.02 }),
    tokenizerFiles: { 'tokenizer.json': JSON.stringify(tok.json), 'tokenizer_config.json': `${JSON.stringify(tok.config, null, 2)}\n` },
    chatTemplate: builtinTemplates.chatml,
  })
  return { dir, config }
}
