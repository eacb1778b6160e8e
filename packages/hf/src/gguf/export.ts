// exportGguf: a merged Hugging Face model folder (llama, mistral, qwen2) → one GGUF file that
// llama.cpp loads, with the tokenizer and chat template, plus an Ollama Modelfile beside it.
// Tensor types follow llama.cpp's converter (convert_hf_to_gguf.py): 1-D tensors, norms and
// biases stay F32; every other weight takes the requested type, F16 where a row is not a whole
// number of 32-value blocks.
import { fail, writeFileAtomic, type ModelConfig } from '@tunekit/core'
import { readFile, stat } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { modelWeightSpecs, readModelConfig } from '../hf-folder.ts'
import { openModelWeights, type ModelWeights } from '../sharded.ts'
import { hyperparameterMetadata } from './hyperparameters.ts'
import { modelfileText } from './modelfile.ts'
import { encodeTensor, ggmlTypes, type GgmlTypeName } from './quantize.ts'
import { ggufArchitectures, ggufTensorName, permuteQk, permutesQk, type GgufArchitecture, type GgufFamily } from './tensor-names.ts'
import { tokenizerMetadata, type HfTokenizerJson } from './tokenizer-metadata.ts'
import { writeGguf, type GgufTensor, type GgufValue } from './writer.ts'

/** The tensor types an export can ask for. */
export const ggufExportTypes = ['F32', 'F16', 'Q8_0', 'Q4_0'] as const
export type GgufExportType = (typeof ggufExportTypes)[number]

// general.file_type: llama.cpp's llama_ftype of the bulk of the weights
const fileTypes: Record<GgufExportType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 }

export interface GgufExportOptions {
  /** Type of the 2-D weights. @defaultValue 'F16' */
  type?: GgufExportType
  /** `general.name`. @defaultValue the folder's name (the run's name for `runs/<name>/merged`) */
  name?: string
  /** Write an Ollama `Modelfile` beside the GGUF file (or at this path). @defaultValue true */
  modelfile?: boolean | string
}

export interface GgufExportResult {
  file: string
  /** Size of the GGUF file in bytes. */
  bytes: number
  type: GgufExportType
  architecture: string
  /** Every tensor written: llama.cpp name, row-major shape, ggml type. */
  tensors: Array<{ name: string; shape: number[]; type: GgmlTypeName }>
  /** The Modelfile written, if any. */
  modelfile?: string
}

/** The ggml type of one tensor in an export of `type`, as llama.cpp's converter picks it. */
export function tensorTypeFor(name: string, shape: readonly number[], type: GgufExportType): GgmlTypeName {
  if (shape.length <= 1 || name.endsWith('_norm.weight') || !name.endsWith('.weight')) return 'F32'
  if ((shape.at(-1)! % ggmlTypes[type].blockSize) !== 0) return 'F16'
  return type
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined)
  return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>)
}

/** The folder's chat template: chat_template.jinja (tunekit writes it), else tokenizer_config.json's. */
async function chatTemplateOf(dir: string, config: Record<string, unknown>): Promise<string | undefined> {
  const jinja = await readFile(join(dir, 'chat_template.jinja'), 'utf8').catch(() => undefined)
  return jinja ?? (typeof config.chat_template === 'string' ? config.chat_template : undefined)
}

/** The `tokenizer.*` entries of a folder, and its chat template. */
async function tokenizerOf(dir: string, config: ModelConfig): Promise<{ entries: Array<[string, GgufValue]>; chatTemplate: string | undefined }> {
  const tokenizerFile = join(dir, 'tokenizer.json')
  const json = (await readJson(tokenizerFile)) ?? fail('ModelNotFound', { path: dir, hintArgs: [dir] }, dir, [tokenizerFile])
  const tokConfig = (await readJson(join(dir, 'tokenizer_config.json'))) ?? {}
  const chatTemplate = await chatTemplateOf(dir, tokConfig)
  const entries = tokenizerMetadata({
    json: json as unknown as HfTokenizerJson,
    config: tokConfig,
    vocabSize: config.vocabSize,
    bosTokenId: config.bosTokenId,
    eosTokenId: config.eosTokenId,
    chatTemplate,
    path: tokenizerFile,
  })
  return { entries, chatTemplate }
}

/** Every tensor in llama.cpp's names and types, each read, permuted and encoded when written. */
function tensorsOf(weights: ModelWeights, family: string, config: ModelConfig, arch: GgufArchitecture, type: GgufExportType): GgufTensor[] {
  return modelWeightSpecs(family, config).map((spec): GgufTensor => {
    const name = ggufTensorName(spec.name)!
    if (!weights.names.includes(spec.name)) fail('GgufTensorMissing', { path: weights.dir, value: spec.name }, weights.dir, spec.name)
    const shape = weights.info(spec.name).shape
    const tensorType = tensorTypeFor(name, shape, type)
    // q rows come in heads of the query count, k rows in heads of the key/value count
    const heads = /\.attn_q\./.test(name) ? config.numAttentionHeads : /\.attn_k\./.test(name) ? config.numKeyValueHeads : 0
    return {
      name,
      shape,
      type: tensorType,
      data: async () => {
        const { data } = await weights.readFloat(spec.name)
        return encodeTensor(heads > 0 && permutesQk[arch] ? permuteQk(data, shape[0]!, heads) : data, tensorType)
      },
    }
  })
}

/** Writes the Modelfile for `file`; the stop strings are ChatML's and the eos token's text. */
async function writeModelfile(path: string, file: string, chatTemplate: string | undefined, tokenizer: Array<[string, GgufValue]>): Promise<void> {
  const value = (key: string): GgufValue | undefined => tokenizer.find(([k]) => k === key)?.[1]
  const eos = value('tokenizer.ggml.eos_token_id')
  const tokens = value('tokenizer.ggml.tokens')!.value as readonly string[]
  const stops = eos?.type === 'u32' ? [tokens[eos.value]!] : []
  await writeFileAtomic(path, modelfileText(relative(dirname(path), file), chatTemplate, stops))
}

/**
 * Writes `outFile` (GGUF v3) from the merged model in `modelFolder`: config.json, safetensors
 * weights, tokenizer.json and tokenizer_config.json (with the chat template). Tensors are read,
 * converted and written one at a time. The file is complete or absent.
 */
export async function exportGguf(modelFolder: string, outFile: string, options: GgufExportOptions = {}): Promise<GgufExportResult> {
  const dir = resolve(modelFolder)
  const type = options.type ?? 'F16'
  if (!(ggufExportTypes as readonly string[]).includes(type)) fail('GgufTypeUnknown', { path: 'export.type', value: type }, type, ggufExportTypes)
  const { family, config } = await readModelConfig(dir)
  if (!Object.hasOwn(ggufArchitectures, family)) fail('GgufFamilyUnsupported', { path: 'model.family', value: family }, family, Object.keys(ggufArchitectures))
  const arch = ggufArchitectures[family as GgufFamily]
  // llama.cpp takes scaled rope as rope.scaling.* keys or a rope_freqs tensor, which this writer does not
  // emit yet: without them the file would run with plain rotary embeddings and other logits.
  if (config.ropeScaling) fail('GgufRopeScalingUnsupported', { path: `${dir}: config.json rope_scaling`, value: config.ropeScaling.type }, dir, config.ropeScaling.type)
  const tokenizer = await tokenizerOf(dir, config)
  const file = resolve(outFile)
  const weights = await openModelWeights(dir)
  try {
    const tensors = tensorsOf(weights, family, config, arch, type)
    const metadata: Array<[string, GgufValue]> = [
      ['general.architecture', { type: 'string', value: arch }],
      ['general.type', { type: 'string', value: 'model' }],
      // runs/<name>/merged is named after the run
      ['general.name', { type: 'string', value: options.name ?? (basename(dir) === 'merged' ? basename(dirname(dir)) : basename(dir)) }],
      ['general.file_type', { type: 'u32', value: fileTypes[type] }],
      ['general.quantization_version', { type: 'u32', value: 2 }], // ggml's GGML_QNT_VERSION
      ...hyperparameterMetadata(arch, config),
      ...tokenizer.entries,
    ]
    await writeGguf(file, { metadata, tensors })
    const result: GgufExportResult = {
      file,
      bytes: (await stat(file)).size,
      type,
      architecture: arch,
      tensors: tensors.map((t) => ({ name: t.name, shape: [...t.shape], type: t.type })),
    }
    if (options.modelfile !== false) {
      result.modelfile = typeof options.modelfile === 'string' ? resolve(options.modelfile) : join(dirname(file), 'Modelfile')
      await writeModelfile(result.modelfile, file, tokenizer.chatTemplate, tokenizer.entries)
    }
    return result
  } finally {
    await weights.close()
  }
}
