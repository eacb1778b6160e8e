// The `model` node (docs/architecture.md, node table): params = the recipe's `model` group minus
// quantize / gradientCheckpointing. With `random`, it writes a random-initialised Hugging Face
// folder into its artifact; otherwise it finds the existing folder (model.path,
// TUNEKIT_MODEL_PATH, or the Hub cache) and writes `model-ref.json` `{ "path": abs folder }`.
import { fail, knownCheckpoints, randomConfigJson, MODEL_REF, nodeParams, parseJsonText, requireModelDir, type ModelConfig, type ModelNodeParams, type NodeExecutor } from '@tunekit/core'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'
import { writeJsonAtomic } from '@tunekit/core'
import { configFromJson } from './hf-folder.ts'
import { familyOf } from './family-of.ts'
import { checkModelFolder, tokenizerIdCount } from './inspect-folder.ts'
import { createRandomModel, mistralTokenizerPath } from './random-model.ts'

export { MODEL_REF, resolveModelDir } from '@tunekit/core'
export type { ModelNodeParams } from '@tunekit/core'

/** Tokenizers that ship with tunekit's dependencies, by name. */
const namedTokenizers = ['mistral'] as const

/** A local tokenizer is a path (absolute or starting with '.'), resolved from the recipe folder, as `compile` does. */
function tokenizerSource(name: string, baseDir: string): 'mistral' | string {
  if (isAbsolute(name) || name.startsWith('.')) return resolve(baseDir, name)
  if (name === 'mistral') return name
  return fail('InvalidValue', { path: 'model.random.tokenizer', value: name }, [...namedTokenizers, './path/to/tokenizer-folder'])
}

/** Number of token ids a tokenizer.json can produce (vocabulary plus added tokens). */
async function tokenizerSize(tokenizerJson: string): Promise<number> {
  const text = await readFile(tokenizerJson, 'utf8').catch((e: NodeJS.ErrnoException) =>
    fail('MalformedTokenizer', { path: 'model.random.tokenizer', value: tokenizerJson }, tokenizerJson, `cannot read it (${e.code ?? e.message})`))
  const parsed = parseJsonText(text)
  if (!parsed.ok) fail('MalformedTokenizer', { path: tokenizerJson }, tokenizerJson, `tokenizer.json is ${parsed.reason}`)
  return tokenizerIdCount(parsed.value as Parameters<typeof tokenizerIdCount>[0])
}

/**
 * The config of a random model: the known checkpoint's config (when `id` is one) with
 * `random.config` (config.json field names) on top. `head_dim` follows a changed width or head
 * count unless it is given too.
 */
export function randomModelConfig(params: Pick<ModelNodeParams, 'id' | 'family' | 'random'>): ModelConfig {
  const info = familyOf(params.family)
  const overrides = params.random?.config ?? {}
  const known = knownCheckpoints[params.id]
  const base: Record<string, unknown> = known ? info.writeConfig(known.config) : { model_type: params.family }
  const config = configFromJson(randomConfigJson(base, overrides), params.family, 'model.random.config')
  const problem =
    !Number.isInteger(config.headDim) ? `hidden_size ${config.hiddenSize} is not divisible by num_attention_heads ${config.numAttentionHeads}`
    : config.numAttentionHeads % config.numKeyValueHeads !== 0 ? `num_attention_heads ${config.numAttentionHeads} is not a multiple of num_key_value_heads ${config.numKeyValueHeads}`
    : config.encoder === undefined && config.headDim % 2 !== 0 ? `head_dim ${config.headDim} is odd; rotary embeddings need an even width`
    : undefined
  if (problem) fail('InvalidRecipe', { path: 'model.random.config', value: overrides }, problem)
  return config
}

/** Writes the model artifact: a random folder, or `model-ref.json` pointing at the local weights. */
export const modelExecutor: NodeExecutor = async (ctx) => {
  const params = nodeParams('model', ctx.node)
  // a recipe chain: the model is the chained recipe's merged folder, this node's one input
  if (params.chained !== undefined) return writeJsonAtomic(join(ctx.outDir, MODEL_REF), { path: ctx.input(ctx.node.inputs[0]!) })
  if (params.random) {
    const config = randomModelConfig(params)
    const tokenizer = tokenizerSource(params.random.tokenizer, ctx.baseDir)
    const tokJson = tokenizer === 'mistral' ? mistralTokenizerPath() : existsSync(join(tokenizer, 'tokenizer.json')) ? join(tokenizer, 'tokenizer.json') : tokenizer
    const size = await tokenizerSize(tokJson)
    if (config.vocabSize < size) {
      fail('InvalidRecipe', { path: 'model.random.config.vocab_size', value: config.vocabSize }, `vocab_size ${config.vocabSize} is smaller than the tokenizer's ${size} token ids`)
    }
    ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `creating a random ${params.family} model (seed ${params.random.seed}, ${familyOf(params.family).totalParams(config).toLocaleString('en-US')} parameters)` })
    await createRandomModel(ctx.outDir, { family: params.family, config, seed: params.random.seed, tokenizer })
    return
  }
  const dir = requireModelDir(params, ctx.baseDir)
  if (!existsSync(join(dir, 'config.json'))) {
    fail('ModelNotFound', { path: 'model.id', value: params.id, hintArgs: [params.id] }, params.id, [`${join(dir, 'config.json')} (the folder exists but holds no config.json)`])
  }
  // The plan's checks again (config.json, weights' headers, tokenizer): a run that skipped the
  // plan, or a folder changed since, fails here with the same catalog errors, before any compute.
  const { warnings } = checkModelFolder(dir, params.family)
  for (const w of warnings) ctx.emit({ type: 'log', node: ctx.node.id, level: 'warn', message: `${w.code} ${w.message}` })
  await writeJsonAtomic(join(ctx.outDir, MODEL_REF), { path: dir })
}
