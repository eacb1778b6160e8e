// Hostile model folders and adapters, each written by code from one tiny random model (mistral,
// hidden 64, 2 layers) and fed to the real CLI: `plan`, `check`, `run --until …` or
// `chat --adapter`. Each case asserts the catalog code, exit code 1, the error text (pinned), and
// that nothing partial is left behind: no `*.tmp-*` file, no cache entry, no temp artifact.
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '@tunekit/cli'
import { compile, isTunekitError, parseRecipe, runGraph, type ModelConfig } from '@tunekit/core'
import {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  createRandomModel,
  initialAdapter,
  inspectAdapter,
  MAX_HEADER_BYTES,
  modelExecutor,
  randomModelConfig,
  readAdapter,
  readSafetensors,
  writeAdapter,
  writeSafetensors,
  type LoraSpec,
  type Tensor,
} from '@tunekit/hf'
import { loadModel } from '@tunekit/tfjs'

const family = 'mistral'
const config: ModelConfig = randomModelConfig({ id: 'tunekit/tiny-mistral', family, random: { seed: 0, tokenizer: 'mistral', config: { hidden_size: 64, num_hidden_layers: 2 } } })
const spec: LoraSpec = { rank: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] }
const records = Array.from({ length: 6 }, (_, i) => ({ prompt: `What is ${i} plus ${i}?`, response: `${2 * i}.` }))

let root: string
/** The healthy model every case starts from, and its tensors (read once). */
let good: string
let goodTensors: Map<string, Tensor>
/** A healthy adapter for `good`. */
let goodAdapter: string

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tunekit-model-inputs-'))
  good = join(root, 'good-model')
  await createRandomModel(good, { family, config, seed: 0, tokenizer: 'mistral', chatTemplate: '{% for m in messages %}{{ m.content }}{% endfor %}' })
  goodTensors = (await readSafetensors(join(good, 'model.safetensors'))).tensors
  goodAdapter = join(root, 'good-adapter')
  await writeAdapter(goodAdapter, { tensors: await initialAdapter({ family, config, lora: spec, seed: 1 }), loraConfig: spec, family, baseModel: 'tunekit/tiny-mistral' })
})

/** A case folder: `model/` with hard links to the healthy model's files (cheap), a data file and a JSON recipe. */
function caseFolder(name: string): { dir: string; model: string } {
  const dir = join(root, name)
  const model = join(dir, 'model')
  mkdirSync(model, { recursive: true })
  for (const f of readdirSync(good)) linkSync(join(good, f), join(model, f))
  writeFileSync(join(dir, 'data.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n')
  const recipe = {
    name,
    model: { id: 'tunekit/tiny-mistral', family, path: './model' },
    data: { source: { kind: 'file', path: 'data.jsonl' }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 32, split: { eval: 0 } },
    args: { batchSize: 2, epochs: 1 },
    output: { merge: false, samples: [] },
  }
  writeFileSync(join(dir, 'recipe.json'), JSON.stringify(recipe, null, 2))
  return { dir, model }
}

/**
 * Rewrites a file of a case without touching the healthy model it is hard-linked to: written
 * beside it, then renamed over the link (writing through the link would change every case).
 */
function rewrite(file: string, data: string | Uint8Array): void {
  const temp = `${file}.new`
  writeFileSync(temp, data)
  renameSync(temp, file)
}

/** {@link rewrite} for tensors. */
async function rewriteTensors(file: string, tensors: Iterable<readonly [string, Tensor]>): Promise<void> {
  await writeSafetensors(`${file}.new.safetensors`, tensors)
  renameSync(`${file}.new.safetensors`, file)
}

const config_ = (model: string): Record<string, unknown> => JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')) as Record<string, unknown>
const setConfig = (model: string, change: Record<string, unknown>): void => rewrite(join(model, 'config.json'), JSON.stringify({ ...config_(model), ...change }, null, 2))

/** The safetensors bytes of a header object and data, optionally with a forged length prefix. */
function forge(header: unknown, dataBytes: number, lengthOverride?: bigint): Buffer {
  const json = Buffer.from(JSON.stringify(header))
  const prefix = Buffer.alloc(8)
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(json.length))
  return Buffer.concat([prefix, json, Buffer.alloc(dataBytes)])
}

/** The healthy model's header as JSON (to edit) and its data size. */
function goodHeader(): { header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; dataBytes: number } {
  const bytes = readFileSync(join(good, 'model.safetensors'))
  const n = Number(bytes.readBigUInt64LE(0))
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>
  delete header.__metadata__
  return { header, dataBytes: bytes.length - 8 - n }
}

async function cli(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(args, { cwd, out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

/** Every file under `dir` whose name marks a partial write. */
function partials(dir: string): string[] {
  const found: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (/\.tmp-/.test(e.name)) found.push(p)
    }
  }
  walk(dir)
  return found
}

/**
 * Finished artifacts (`<key>/`), leftover temp artifacts (`tmp/*`) and non-empty work folders
 * (`<key>.work/`) of a case; the compile's file-hash memo is no artifact.
 */
function cacheEntries(dir: string): string[] {
  const cache = join(dir, '.tunekit', 'cache')
  if (!existsSync(cache)) return []
  const tmp = join(cache, 'tmp')
  const entries = readdirSync(cache).filter((e) => /^[0-9a-f]{64}$/.test(e) || (e.endsWith('.work') && readdirSync(join(cache, e)).length > 0))
  return [...entries, ...(existsSync(tmp) ? readdirSync(tmp).map((e) => `tmp/${e}`) : [])]
}

/** The text with the case folder replaced by `$CASE`, so snapshots do not depend on the temp path. */
const clean = (text: string, dir: string): string => text.replaceAll(dir, '$CASE')

/** The lines of the output that are issues (`✖ TKnnn …`) and their `value:` lines. */
const issueLines = (text: string): string => text.split('\n').filter((l) => /^(✖|⚠) TK\d{3}|^ {2}value:/.test(l)).join('\n')

/** Asserts the common outcome of a failing case and returns the issue lines. */
function failed(r: { code: number; out: string; err: string }, dir: string, code: string): string {
  expect(r.code).toBe(1)
  expect(r.err).toContain(`✖ ${code} `)
  expect(r.err).not.toContain('tunekit crashed')
  expect(partials(dir)).toEqual([])
  expect(cacheEntries(dir)).toEqual([])
  return clean(issueLines(r.err), dir)
}

describe('model folders: found by the plan, before any node runs', () => {
  it('the healthy folder plans clean (the control case)', async () => {
    const { dir } = caseFolder('healthy')
    const r = await cli(dir, 'plan', 'recipe.json')
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).not.toContain('problems')
    expect(r.out).toContain('numbers from config.json')
    expect(inspectAdapter(goodAdapter, { family, config })).toEqual([])
  })

  it('warnings do not stop the plan: weights config.json does not describe (TK346), another family (TK345)', async () => {
    const { dir, model } = caseFolder('warnings')
    setConfig(model, { num_hidden_layers: 1 })
    const recipe = JSON.parse(readFileSync(join(dir, 'recipe.json'), 'utf8')) as { model: Record<string, unknown> }
    writeFileSync(join(dir, 'recipe.json'), JSON.stringify({ ...recipe, model: { ...recipe.model, family: 'llama' } }))
    const r = await cli(dir, 'plan', 'recipe.json')
    expect(r.code).toBe(0)
    expect(r.err).toBe('')
    expect(clean(issueLines(r.out), dir)).toMatchInlineSnapshot(`
      "⚠ TK345 model.family is "llama" but $CASE/model/config.json says model_type "mistral" → at model.family
        value: "llama"
      ⚠ TK346 the weights in $CASE/model hold 9 tensors that config.json does not describe ("model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight", "model.layers.1.self_attn.v_proj.weight", …); they are ignored → at $CASE/model
        value: ["model.layers.1.self_attn.q_proj.weight","model.layers.1..."
    `)
  })

  it('config.json alone (weights not downloaded yet) plans with a warning; the model node refuses it', async () => {
    const { dir, model } = caseFolder('config-only')
    for (const f of readdirSync(model)) if (f !== 'config.json') rmSync(join(model, f))
    const p = await cli(dir, 'plan', 'recipe.json')
    expect(p.code).toBe(0)
    expect(p.out).toContain('⚠ TK301')
    expect(failed(await cli(dir, 'run', 'recipe.json', '--until', 'model'), dir, 'TK301')).toMatchInlineSnapshot(`"✖ TK301 the weights of "$CASE/model" are not on this machine (looked in $CASE/model/model.safetensors, $CASE/model/model.safetensors.index.json) → at $CASE/model"`)
  })

  it('config.json that is not JSON: TK343 with line and column', async () => {
    const { dir, model } = caseFolder('config-not-json')
    rewrite(join(model, 'config.json'), '{\n  "model_type": "mistral",\n  "hidden_size": 64,,\n}\n')
    expect(failed(await cli(dir, 'plan', 'recipe.json'), dir, 'TK343')).toMatchInlineSnapshot(`"✖ TK343 $CASE/model/config.json: config.json is not valid JSON at line 3, column 21 (character 49): Expected double-quoted property name → at $CASE/model/config.json"`)
  })

  it('an unknown model_type is reported by plan and by check, not at the train node', async () => {
    const { dir, model } = caseFolder('unknown-model-type')
    setConfig(model, { model_type: 'gpt2' })
    expect(failed(await cli(dir, 'plan', 'recipe.json'), dir, 'TK344')).toMatchInlineSnapshot(`
      "✖ TK344 $CASE/model/config.json: model_type "gpt2" is not an architecture tunekit can load; known: llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, mixtral, yi, bert, llava, qwen2_vl → at $CASE/model/config.json: model_type
        value: "gpt2""
    `)
    const check = await cli(dir, 'check', 'recipe.json')
    expect(failed(check, dir, 'TK344')).toMatchInlineSnapshot(`
      "✖ TK344 $CASE/model/config.json: model_type "gpt2" is not an architecture tunekit can load; known: llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, mixtral, yi, bert, llava, qwen2_vl → at $CASE/model/config.json: model_type
        value: "gpt2""
    `)
  })

  it('a config.json field missing (TK310) is printed once', async () => {
    const { dir, model } = caseFolder('config-missing-field')
    const { num_attention_heads: _gone, ...rest } = config_(model)
    rewrite(join(model, 'config.json'), JSON.stringify(rest))
    const r = await cli(dir, 'run', 'recipe.json', '--until', 'model')
    expect(failed(r, dir, 'TK310')).toMatchInlineSnapshot(`"✖ TK310 config.json has no numeric "num_attention_heads", which a mistral model needs → at $CASE/model/config.json: num_attention_heads"`)
    expect((r.out + r.err).match(/TK310/g)).toHaveLength(1)
  })

  it('hidden_size changed to 128: every mismatching tensor named, capped at 10, before train', async () => {
    const { dir, model } = caseFolder('hidden-128')
    setConfig(model, { hidden_size: 128, head_dim: 32 })
    const r = await cli(dir, 'run', 'recipe.json', '--until', 'train')
    expect(failed(r, dir, 'TK341')).toMatchInlineSnapshot(`
      "✖ TK341 $CASE/model/model.safetensors: "model.embed_tokens.weight" has shape [32000,64] but config.json gives [32000,128] → at model.embed_tokens.weight
        value: [32000,64]
      ✖ TK341 $CASE/model/model.safetensors: "model.layers.0.self_attn.q_proj.weight" has shape [64,64] but config.json gives [128,128] → at model.layers.0.self_attn.q_proj.weight
        value: [64,64]
      ✖ TK341 $CASE/model/model.safetensors: "model.layers.0.self_attn.k_proj.weight" has shape [32,64] but config.json gives [64,128] → at model.layers.0.self_attn.k_proj.weight
        value: [32,64]
      ✖ TK341 $CASE/model/model.safetensors: "model.layers.0.self_attn.v_proj.weight" has shape [32,64] but config.json gives [64,128] → at model.layers.0.self_attn.v_proj.weight
        value: [32,64]
      ✖ TK341 $CASE/model/model.safetensors: "model.layers.0.self_attn.o_proj.weight" has shape [64,64] but config.json gives [128,128] → at model.layers.0.self_attn.o_proj.weight
        value: [64,64]
      ✖ TK341 $CASE/model/model.safetensors: "model.layers.0.mlp.gate_proj.weight" has shape [128,64] but config.json gives [128,128] → at model.layers.0.mlp.gate_proj.weight
        value: [128,64]
      ✖ TK341 $CASE/model/model.safetensors: "model.layers.0.mlp.up_proj.weight" has shape [128,64] but config.json gives [128,128] → at model.layers.0.mlp.up_proj.weight
        value: [128,64]
      ✖ TK341 $CASE/model/model.safetensors: "model.layers.0.mlp.down_proj.weight" has shape [64,128] but config.json gives [128,128] → at model.layers.0.mlp.down_proj.weight
        value: [64,128]
      ✖ TK341 $CASE/model/model.safetensors: "model.layers.0.input_layernorm.weight" has shape [64] but config.json gives [128] → at model.layers.0.input_layernorm.weight
        value: [64]
      ✖ TK341 $CASE/model/model.safetensors: "model.layers.0.post_attention_layernorm.weight" has shape [64] but config.json gives [128] (and 11 more problems with the weights; only the first 10 are listed) → at model.layers.0.post_attention_layernorm.weight
        value: [64]"
    `)
    expect(r.err.match(/✖ TK341/g)).toHaveLength(10)
  })

  it('lm_head.weight missing from an untied model: TK342', async () => {
    const { dir, model } = caseFolder('no-lm-head')
    await rewriteTensors(join(model, 'model.safetensors'), [...goodTensors].filter(([k]) => k !== 'lm_head.weight'))
    expect(failed(await cli(dir, 'plan', 'recipe.json'), dir, 'TK342')).toMatchInlineSnapshot(`"✖ TK342 the weights in $CASE/model have no "lm_head.weight", which config.json needs (tie_word_embeddings is false, so the output layer has its own weight) → at lm_head.weight"`)
  })

  it('vocab_size disagreeing with embed_tokens: TK341 for both vocabulary tensors', async () => {
    const { dir, model } = caseFolder('vocab-size')
    setConfig(model, { vocab_size: 32100 })
    expect(failed(await cli(dir, 'plan', 'recipe.json'), dir, 'TK341')).toMatchInlineSnapshot(`
      "✖ TK341 $CASE/model/model.safetensors: "model.embed_tokens.weight" has shape [32000,64] but config.json gives [32100,64] → at model.embed_tokens.weight
        value: [32000,64]
      ✖ TK341 $CASE/model/model.safetensors: "lm_head.weight" has shape [32000,64] but config.json gives [32100,64] → at lm_head.weight
        value: [32000,64]"
    `)
  })

  it('a truncated safetensors file: TK309', async () => {
    const { dir, model } = caseFolder('truncated')
    const bytes = readFileSync(join(good, 'model.safetensors'))
    rewrite(join(model, 'model.safetensors'), bytes.subarray(0, bytes.length - 1000))
    expect(failed(await cli(dir, 'run', 'recipe.json', '--until', 'model'), dir, 'TK309')).toMatchInlineSnapshot(`"✖ TK309 model.safetensors: tensor "lm_head.weight" ends at byte 16680192 of the data but the file holds only 16679192 bytes of data (truncated?) → at $CASE/model/model.safetensors"`)
  })

  it('a header length beyond the file size: TK309', async () => {
    const { dir, model } = caseFolder('header-beyond-file')
    const bytes = Buffer.from(readFileSync(join(good, 'model.safetensors')))
    bytes.writeBigUInt64LE(BigInt(bytes.length), 0)
    rewrite(join(model, 'model.safetensors'), bytes)
    expect(failed(await cli(dir, 'plan', 'recipe.json'), dir, 'TK309')).toMatchInlineSnapshot(`"✖ TK309 model.safetensors: the header length 16682384 is larger than the rest of the file (16682376 bytes) → at $CASE/model/model.safetensors"`)
  })

  it('a header over the format limit (100 000 000 bytes) is refused from its length, before it is read', async () => {
    const { dir, model } = caseFolder('header-too-large')
    const file = join(model, 'model.safetensors')
    const prefix = Buffer.alloc(8)
    prefix.writeBigUInt64LE(BigInt(MAX_HEADER_BYTES + 1))
    rewrite(file, prefix)
    truncateSync(file, 8 + MAX_HEADER_BYTES + 1 + 64) // sparse: no disk is spent on the fake header
    expect(statSync(file).size).toBeGreaterThan(MAX_HEADER_BYTES)
    const before = process.memoryUsage().rss
    expect(failed(await cli(dir, 'plan', 'recipe.json'), dir, 'TK309')).toMatchInlineSnapshot(`"✖ TK309 model.safetensors: the header length 100000001 exceeds the 100000000-byte limit of the safetensors format → at $CASE/model/model.safetensors"`)
    // the 100 MB header was never allocated (a generous bound: the rest of the plan allocates too)
    expect(process.memoryUsage().rss - before).toBeLessThan(60 * 1024 * 1024)
  })

  it('overlapping data_offsets: TK309', async () => {
    const { dir, model } = caseFolder('overlap')
    const { header, dataBytes } = goodHeader()
    const norm = header['model.norm.weight']!
    header['model.norm.weight'] = { ...norm, data_offsets: [norm.data_offsets[0] - 4, norm.data_offsets[1] - 4] }
    rewrite(join(model, 'model.safetensors'), forge(header, dataBytes))
    expect(failed(await cli(dir, 'plan', 'recipe.json'), dir, 'TK309')).toMatchInlineSnapshot(`"✖ TK309 model.safetensors: tensor "model.norm.weight" overlaps the previous tensor (begins at 8487932, previous ends at 8487936) → at $CASE/model/model.safetensors"`)
  })

  it('an unknown dtype: TK309', async () => {
    const { dir, model } = caseFolder('unknown-dtype')
    const { header, dataBytes } = goodHeader()
    header['model.norm.weight'] = { ...header['model.norm.weight']!, dtype: 'F8_E4M3' }
    rewrite(join(model, 'model.safetensors'), forge(header, dataBytes))
    expect(failed(await cli(dir, 'plan', 'recipe.json'), dir, 'TK309')).toMatchInlineSnapshot(`"✖ TK309 model.safetensors: tensor "model.norm.weight" has unknown dtype "F8_E4M3"; known: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL → at $CASE/model/model.safetensors"`)
  })

  it('an integer weight (I32 where a float norm belongs): TK309 naming the weight', async () => {
    const { dir, model } = caseFolder('integer-weight')
    const tensors = [...goodTensors].map(([k, t]): [string, Tensor] => [k, k === 'model.norm.weight' ? { shape: t.shape, data: new Int32Array(t.data.length) } : t])
    await rewriteTensors(join(model, 'model.safetensors'), tensors)
    expect(failed(await cli(dir, 'run', 'recipe.json', '--until', 'model'), dir, 'TK309')).toMatchInlineSnapshot(`
      "✖ TK309 $CASE/model/model.safetensors: weight "model.norm.weight" is I32; model weights are F32, F16, BF16 or F64 → at model.norm.weight
        value: "I32""
    `)
  })

  it('an index naming a shard that is not there: TK309 naming the index and the shard', async () => {
    const { dir, model } = caseFolder('missing-shard')
    const names = [...goodTensors.keys()]
    const weightMap = Object.fromEntries(names.map((n, i) => [n, i < names.length / 2 ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']))
    await writeSafetensors(join(model, 'model-00001-of-00002.safetensors'), [...goodTensors].filter(([k]) => weightMap[k] === 'model-00001-of-00002.safetensors'))
    rmSync(join(model, 'model.safetensors'))
    writeFileSync(join(model, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }))
    expect(failed(await cli(dir, 'run', 'recipe.json', '--until', 'model'), dir, 'TK309')).toMatchInlineSnapshot(`
      "✖ TK309 model.safetensors.index.json: weight_map names "model-00002-of-00002.safetensors" (for "model.layers.1.self_attn.k_proj.weight" and others), which is not in the folder (an incomplete download?) → at $CASE/model/model.safetensors.index.json
        value: "model-00002-of-00002.safetensors""
    `)
  })

  it('a corrupt tokenizer.json is its own error with the parse position, not "weights not on this machine"', async () => {
    const { dir, model } = caseFolder('corrupt-tokenizer')
    const text = readFileSync(join(good, 'tokenizer.json'), 'utf8')
    rewrite(join(model, 'tokenizer.json'), text.slice(0, 5000))
    const r = await cli(dir, 'run', 'recipe.json', '--until', 'tokenize')
    expect(failed(r, dir, 'TK340')).toMatchInlineSnapshot(`"✖ TK340 $CASE/model/tokenizer.json: tokenizer.json is not valid JSON at line 270, column 7 (character 5000): Expected double-quoted property name → at $CASE/model/tokenizer.json"`)
    expect(r.err).not.toContain('TK301')
  })

  it('head counts that do not divide hidden_size: TK343 before any tensor error', async () => {
    const { dir, model } = caseFolder('heads')
    const { head_dim: _gone, ...rest } = config_(model)
    rewrite(join(model, 'config.json'), JSON.stringify({ ...rest, num_attention_heads: 5, num_key_value_heads: 5 }))
    expect(failed(await cli(dir, 'plan', 'recipe.json'), dir, 'TK343')).toMatchInlineSnapshot(`
      "✖ TK343 $CASE/model/config.json: head_dim is 12.8 (hidden_size 64 / num_attention_heads 5 unless given), not a positive whole number → at $CASE/model/config.json: head_dim
        value: 12.8"
    `)
  })
})

/** A copy of the healthy adapter with its config changed and/or its tensors rewritten. */
async function adapterCase(name: string, change: { config?: Record<string, unknown>; configText?: string; tensors?: (t: Map<string, Tensor>) => Map<string, Tensor> }): Promise<{ dir: string; adapter: string; model: string }> {
  const { dir, model } = caseFolder(name)
  const adapter = join(dir, 'adapter')
  mkdirSync(adapter)
  const json = JSON.parse(readFileSync(join(goodAdapter, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>
  writeFileSync(join(adapter, ADAPTER_CONFIG), change.configText ?? JSON.stringify({ ...json, ...change.config }, null, 2))
  const { tensors } = await readSafetensors(join(goodAdapter, ADAPTER_WEIGHTS))
  await writeSafetensors(join(adapter, ADAPTER_WEIGHTS), change.tensors ? change.tensors(tensors) : tensors)
  return { dir, adapter, model }
}

describe('adapters: checked against their config and the base model when read', () => {
  it("adapter_config.json r disagreeing with the tensors: TK347, not a tfjs stack", async () => {
    const { dir } = await adapterCase('adapter-rank', { config: { r: 8 } })
    const r = await cli(dir, 'chat', 'model', '--adapter', 'adapter')
    expect(failed(r, dir, 'TK347')).toMatchInlineSnapshot(`
      "✖ TK347 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight has shape [4,64]: its rank (first dimension) is 4 but adapter_config.json r is 8 → at base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight
        value: [4,64]
      ✖ TK347 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight has shape [64,4]: its rank (second dimension) is 4 but adapter_config.json r is 8 → at base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight
        value: [64,4]
      ✖ TK347 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight has shape [4,64]: its rank (first dimension) is 4 but adapter_config.json r is 8 → at base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight
        value: [4,64]
      ✖ TK347 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight has shape [32,4]: its rank (second dimension) is 4 but adapter_config.json r is 8 → at base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight
        value: [32,4]
      ✖ TK347 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight has shape [4,64]: its rank (first dimension) is 4 but adapter_config.json r is 8 → at base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight
        value: [4,64]
      ✖ TK347 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight has shape [64,4]: its rank (second dimension) is 4 but adapter_config.json r is 8 → at base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight
        value: [64,4]
      ✖ TK347 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight has shape [4,64]: its rank (first dimension) is 4 but adapter_config.json r is 8 → at base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight
        value: [4,64]
      ✖ TK347 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight has shape [32,4]: its rank (second dimension) is 4 but adapter_config.json r is 8 → at base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight
        value: [32,4]"
    `)
  })

  it('target_modules ["c_attn"] (a GPT-2 adapter) on a mistral model: TK348, never garbage answers', async () => {
    const { dir } = await adapterCase('adapter-c-attn', {
      config: { target_modules: ['c_attn'] },
      // GPT-2's PEFT keys: base_model.model.transformer.h.<i>.attn.c_attn.lora_A.weight
      tensors: (t) => new Map([...t].map(([k, v]) => [k.replace('model.model.layers.', 'model.transformer.h.').replace('self_attn.q_proj', 'attn.c_attn').replace('self_attn.v_proj', 'attn.c_proj'), v])),
    })
    expect(failed(await cli(dir, 'chat', 'model', '--adapter', 'adapter'), dir, 'TK348')).toMatchInlineSnapshot(`
      "✖ TK348 $CASE/adapter/adapter_config.json: target_modules names "c_attn", which is not a module of the mistral model it is applied to (its modules: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj); the adapter was made for another architecture → at $CASE/adapter/adapter_config.json: target_modules
        value: "c_attn"
      ✖ TK347 $CASE/adapter/adapter_model.safetensors: 8 tensors are not keys of a PEFT LoRA adapter of a llama-style decoder ("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight", "base_model.model.transformer.h.0.attn.c_proj.lora_A.weight", …); tunekit reads base_model.model.model.layers.<i>.<self_attn|mlp>.<module>.lora_A|lora_B.weight, DoRA's lora_magnitude_vector, saved modules and trainable tokens → at base_model.model.transformer.h.0.attn.c_attn.lora_A.weight
        value: 8"
    `)
  })

  it('an unknown peft_type: TK347', async () => {
    const { dir } = await adapterCase('adapter-peft-type', { config: { peft_type: 'LOHA' } })
    expect(failed(await cli(dir, 'chat', 'model', '--adapter', 'adapter'), dir, 'TK347')).toMatchInlineSnapshot(`
      "✖ TK347 $CASE/adapter/adapter_config.json: peft_type is "LOHA"; tunekit reads LORA adapters (PEFT's LoraConfig), and IA3, PROMPT_TUNING, P_TUNING and PREFIX_TUNING ones for chat and generate → at $CASE/adapter/adapter_config.json: peft_type
        value: "LOHA""
    `)
  })

  it('adapter_config.json that is not JSON: TK347 with the position', async () => {
    const { dir } = await adapterCase('adapter-not-json', { configText: '{ "peft_type": "LORA", "r": 4' })
    expect(failed(await cli(dir, 'chat', 'model', '--adapter', 'adapter'), dir, 'TK347')).toMatchInlineSnapshot(`"✖ TK347 $CASE/adapter/adapter_config.json: adapter_config.json is not valid JSON at line 1, column 30 (character 29): Expected ',' or '}' after property value → at $CASE/adapter/adapter_config.json"`)
  })

  it('an adapter trained on a wider model (hidden 128): TK348 naming each matrix', async () => {
    const wide = randomModelConfig({ id: 'tunekit/tiny-mistral', family, random: { seed: 0, tokenizer: 'mistral', config: { hidden_size: 128, num_hidden_layers: 2 } } })
    const tensors = await initialAdapter({ family, config: wide, lora: spec, seed: 1 })
    const { dir } = await adapterCase('adapter-wide', { tensors: () => tensors })
    expect(failed(await cli(dir, 'chat', 'model', '--adapter', 'adapter'), dir, 'TK348')).toMatchInlineSnapshot(`
      "✖ TK348 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight has shape [4,128] but the model's q_proj takes 64 features (hidden_size 64, intermediate_size 128) → at base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight
        value: [4,128]
      ✖ TK348 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight has shape [128,4] but the model's q_proj gives 64 features (hidden_size 64, intermediate_size 128) → at base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight
        value: [128,4]
      ✖ TK348 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight has shape [4,128] but the model's v_proj takes 64 features (hidden_size 64, intermediate_size 128) → at base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight
        value: [4,128]
      ✖ TK348 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight has shape [64,4] but the model's v_proj gives 32 features (hidden_size 64, intermediate_size 128) → at base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight
        value: [64,4]
      ✖ TK348 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight has shape [4,128] but the model's q_proj takes 64 features (hidden_size 64, intermediate_size 128) → at base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight
        value: [4,128]
      ✖ TK348 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight has shape [128,4] but the model's q_proj gives 64 features (hidden_size 64, intermediate_size 128) → at base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight
        value: [128,4]
      ✖ TK348 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight has shape [4,128] but the model's v_proj takes 64 features (hidden_size 64, intermediate_size 128) → at base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight
        value: [4,128]
      ✖ TK348 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight has shape [64,4] but the model's v_proj gives 32 features (hidden_size 64, intermediate_size 128) → at base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight
        value: [64,4]"
    `)
  })

  it('LoRA matrices for a layer the model does not have, and a lora_A without its lora_B', async () => {
    const { dir } = await adapterCase('adapter-layers', {
      tensors: (t) => {
        const out = new Map(t)
        out.set('base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight', t.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!)
        out.set('base_model.model.model.layers.5.self_attn.q_proj.lora_B.weight', t.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')!)
        out.delete('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')
        return out
      },
    })
    const r = await cli(dir, 'chat', 'model', '--adapter', 'adapter')
    expect(failed(r, dir, 'TK347')).toMatchInlineSnapshot(`
      "✖ TK348 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.5.self_attn.q_proj is for layer 5 but the model has 2 layers (num_hidden_layers) → at base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight
        value: 5
      ✖ TK347 $CASE/adapter/adapter_model.safetensors: base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight has no lora_B partner (base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight) → at base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight"
    `)
    expect(r.err).toContain('✖ TK348')
  })
})

describe('loaders and executors that meet a broken folder anyway fail with the same entry', () => {
  it('the model node (run without the plan) refuses a hidden_size mismatch and leaves no cache entry', async () => {
    const { dir, model } = caseFolder('executor-hidden')
    setConfig(model, { hidden_size: 128, head_dim: 32 })
    const recipe = parseRecipe(JSON.parse(readFileSync(join(dir, 'recipe.json'), 'utf8')))
    const cacheDir = join(dir, '.tunekit', 'cache')
    const graph = await compile(recipe, { baseDir: dir, cacheDir })
    const e = await runGraph(graph, { recipe, executors: { model: modelExecutor }, cacheDir, runDir: join(dir, 'run'), baseDir: dir, until: 'model' }).then(() => undefined, (err: unknown) => err)
    expect(isTunekitError(e) && e.code).toBe('TK341')
    expect(partials(dir)).toEqual([])
    expect(cacheEntries(dir)).toEqual([])
  })

  it('tfjs loadModel refuses a missing lm_head with TK342 before allocating tensors', async () => {
    const { model } = caseFolder('loader-lm-head')
    await rewriteTensors(join(model, 'model.safetensors'), [...goodTensors].filter(([k]) => k !== 'lm_head.weight'))
    const e = await loadModel(model).then(() => undefined, (err: unknown) => err)
    expect(isTunekitError(e) && e.code).toBe('TK342')
  })

  it('readAdapter with the base model refuses an adapter for another model (what tfjs generate calls)', async () => {
    const { adapter } = await adapterCase('reader-c-attn', { config: { target_modules: ['c_attn'] } })
    const e = await readAdapter(adapter, { family, config }).then(() => undefined, (err: unknown) => err)
    expect(isTunekitError(e) && e.issues.map((i) => i.code)).toContain('TK348')
  })
})
