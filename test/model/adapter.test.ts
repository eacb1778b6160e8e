import { knownCheckpoints, type ModelConfig } from '@tunekit/core'
import { adapterConfigJson, adapterIssues, initialAdapter, listCheckpoints, loraSpecFromRecipe, parseAdapterKey, readAdapter, randomModelConfig, readLatestCheckpoint, writeAdapter, writeCheckpoint, type AdapterTensorShape, type FloatTensor, type LoraSpec, type TrainerState } from '@tunekit/hf'
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tinyTokenizer } from '../data/helpers.ts'
import { tinyLlavaConfig } from '../vision/tiny-vision.ts'

const config: ModelConfig = { ...knownCheckpoints['tunekit/tiny-mistral']!.config, vocabSize: 50, hiddenSize: 64, intermediateSize: 96, numHiddenLayers: 2, headDim: 16 }
const tmp = () => mkdtemp(join(tmpdir(), 'tk-ad-'))
const embed: FloatTensor = { shape: [50, 64], data: Float32Array.from({ length: 50 * 64 }, (_, i) => i / 1000) }
const base = new Map([['model.embed_tokens.weight', embed], ['lm_head.weight', { shape: [50, 64], data: new Float32Array(50 * 64).fill(0.5) }]])
const spec: LoraSpec = { rank: 8, alpha: 16, targetModules: ['q_proj', 'down_proj'], modulesToSave: ['lm_head'], trainableTokens: { embed_tokens: [3, 49] } }

describe('initialAdapter', () => {
  it('draws A like PEFT (Kaiming-uniform, bound 1/√in), B = 0, deterministically', async () => {
    const a = await initialAdapter({ family: 'mistral', config, lora: spec, seed: 42, baseTensors: base })
    const b = await initialAdapter({ family: 'mistral', config, lora: spec, seed: 42, baseTensors: base })
    const c = await initialAdapter({ family: 'mistral', config, lora: spec, seed: 43, baseTensors: base })
    expect([...a].map(([k, t]) => `${k} ${JSON.stringify(t.shape)}`)).toMatchInlineSnapshot(`
      [
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight [8,64]",
        "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight [64,8]",
        "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight [8,96]",
        "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight [64,8]",
        "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight [8,64]",
        "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight [64,8]",
        "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight [8,96]",
        "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight [64,8]",
        "base_model.model.lm_head.weight [50,64]",
        "base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta [2,64]",
      ]
    `)
    for (const [k, t] of a) expect(b.get(k)!.data).toEqual(t.data)
    const qA = a.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.data
    expect(c.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.data).not.toEqual(qA)
    const bound = 1 / Math.sqrt(64)
    expect(Math.max(...qA.map(Math.abs))).toBeLessThanOrEqual(bound)
    expect(Math.max(...qA.map(Math.abs))).toBeGreaterThan(0.95 * bound)
    // Uniform on [-b, b]: variance b²/3.
    const variance = qA.reduce((s, v) => s + v * v, 0) / qA.length
    expect(variance).toBeCloseTo(bound ** 2 / 3, 3)
    const downA = a.get('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight')!.data
    expect(Math.max(...downA.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(96)) // fan_in = intermediate
    expect(a.get('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight')!.data.every((v) => v === 0)).toBe(true)
    // Saved modules start as copies of the base; trainable tokens as the base rows.
    expect(a.get('base_model.model.lm_head.weight')!.data).toEqual(base.get('lm_head.weight')!.data)
    expect(Array.from(a.get('base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta')!.data.subarray(64, 66))).toEqual([embed.data[49 * 64], embed.data[49 * 64 + 1]])
  })

  it("draws A from N(0, std 1/r) for init 'gaussian' (PEFT's normal_(std=1/r))", async () => {
    const a = await initialAdapter({ family: 'mistral', config: { ...config, hiddenSize: 256, headDim: 64 }, lora: { rank: 4, alpha: 8, init: 'gaussian', targetModules: ['q_proj'] }, seed: 1 })
    const qA = a.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.data // 1024 draws
    const std = Math.sqrt(qA.reduce((s, v) => s + v * v, 0) / qA.length)
    expect(std).toBeGreaterThan(0.23)
    expect(std).toBeLessThan(0.27)
  })

  it('needs base tensors for saved modules', async () => {
    await expect(initialAdapter({ family: 'mistral', config, lora: spec, seed: 1 })).rejects.toThrow('needs baseTensors')
  })
})

describe('PEFT adapter layout', () => {
  it('writes PEFT LoraConfig fields and reads the adapter back', async () => {
    const dir = await tmp()
    const tensors = await initialAdapter({ family: 'mistral', config, lora: spec, seed: 5, baseTensors: base })
    await writeAdapter(dir, { tensors, loraConfig: spec, family: 'mistral', baseModel: 'tunekit/tiny-mistral' })
    expect((await readdir(dir)).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors'])
    const json = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'))
    // only the keys in use, sorted: PEFT passes every key to LoraConfig, and an older PEFT refuses one it does not know
    expect(json).toEqual({
      base_model_name_or_path: 'tunekit/tiny-mistral', bias: 'none', fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, lora_alpha: 16, lora_dropout: 0,
      modules_to_save: ['lm_head'], peft_type: 'LORA', r: 8, target_modules: ['q_proj', 'down_proj'], task_type: 'CAUSAL_LM', trainable_token_indices: { embed_tokens: [3, 49] },
    })
    expect(Object.keys(json)).toEqual(Object.keys(json).sort())
    const back = await readAdapter(dir)
    expect(back.loraConfig).toEqual({ ...spec, dropout: 0, init: 'default', rsLora: false, useDora: false })
    for (const [k, t] of tensors) expect(back.tensors.get(k)).toEqual(t)
  })

  it('maps a recipe lora group to PEFT names, all-linear expanded', () => {
    const s = loraSpecFromRecipe({ rank: 4, alpha: 8, dropout: 0.1, targetModules: 'all-linear', modulesToSave: [], trainableTokens: true, rsLora: true, useDora: false, init: 'default', initLoraWeights: true }, 'llama', [32000, 32001])
    const json = adapterConfigJson(s, 'llama', null)
    expect(json).toMatchObject({ target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], use_rslora: true, lora_dropout: 0.1, trainable_token_indices: { embed_tokens: [32000, 32001] } })
    expect('modules_to_save' in json).toBe(false) // unused: not written
    expect(loraSpecFromRecipe({ rank: 4, alpha: 8, dropout: 0, modulesToSave: [], trainableTokens: false, rsLora: false, useDora: false, init: 'default', initLoraWeights: true }, 'mistral').targetModules).toEqual(['q_proj', 'v_proj'])
    expect(parseAdapterKey('base_model.model.model.layers.12.mlp.up_proj.lora_B.weight')).toEqual({ kind: 'lora', module: 'up_proj', layer: 12, matrix: 'lora_B' })
    expect(parseAdapterKey('base_model.model.model.embed_tokens.weight')).toEqual({ kind: 'saved', module: 'embed_tokens' })
    expect(parseAdapterKey('base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta')).toEqual({ kind: 'tokens', module: 'embed_tokens' })
    expect(parseAdapterKey('something.else')).toBeUndefined()
    // a vision-language model's keys (PEFT 0.21 on transformers 5's LlavaForConditionalGeneration / Qwen2VLForConditionalGeneration)
    expect(parseAdapterKey('base_model.model.model.language_model.layers.1.self_attn.q_proj.lora_A.weight')).toEqual({ kind: 'lora', module: 'q_proj', layer: 1, matrix: 'lora_A' })
    expect(parseAdapterKey('base_model.model.model.multi_modal_projector.linear_2.lora_B.weight')).toEqual({ kind: 'projector', module: 'linear_2', matrix: 'lora_B' })
    expect(parseAdapterKey('base_model.model.model.visual.merger.mlp.0.lora_A.weight')).toEqual({ kind: 'projector', module: 'mlp.0', matrix: 'lora_A' })
    expect(parseAdapterKey('base_model.model.model.visual.merger.ln_q.bias')).toEqual({ kind: 'saved', module: 'merger' })
    expect(parseAdapterKey('base_model.model.model.language_model.embed_tokens.token_adapter.trainable_tokens_delta')).toEqual({ kind: 'tokens', module: 'embed_tokens' })
    expect(parseAdapterKey('base_model.model.model.vision_tower.encoder.layers.0.self_attn.q_proj.lora_A.weight')).toBeUndefined() // the tower is never adapted
  })
})

describe('checkpoints', () => {
  it('writes atomically, keeps the last K and reads the latest back', async () => {
    const work = await tmp()
    const lora: LoraSpec = { rank: 2, alpha: 4, targetModules: ['q_proj'] }
    const tensors = await initialAdapter({ family: 'mistral', config, lora, seed: 1 })
    const key = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'
    const state = (step: number): TrainerState => ({ step, epoch: step / 4, microBatch: step * 2, rng: { seed: 1, scheme: 'seed+step' }, recipeKey: 'abc', lossHistory: Array.from({ length: step }, (_, i) => 2 - i / 10), backend: 'tfjs' })
    await mkdir(join(work, '.checkpoint-9.tmp-1-dead')) // leftover of a crashed write
    for (const step of [1, 2, 3]) {
      const moments = new Map([[`${key}.exp_avg`, { shape: [2, 64], data: new Float32Array(128).fill(step) }], [`${key}.exp_avg_sq`, { shape: [2, 64], data: new Float32Array(128).fill(step * step) }]])
      await writeCheckpoint(work, step, { adapter: { tensors, method: { kind: 'lora', spec: lora }, family: 'mistral', baseModel: null }, optimizer: moments, trainerState: state(step) }, { keep: 2 })
    }
    expect((await readdir(work)).sort()).toEqual(['checkpoint-2', 'checkpoint-3'])
    expect((await listCheckpoints(work)).map((c) => c.step)).toEqual([2, 3])
    const latest = (await readLatestCheckpoint(work))!
    expect(latest.trainerState).toEqual(state(3))
    expect(latest.optimizer.get(`${key}.exp_avg_sq`)!.data[0]).toBe(9)
    expect(latest.adapter.tensors.get(key)).toEqual(tensors.get(key))
    expect((await readdir(latest.path)).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'optimizer.safetensors', 'trainer_state.json'])
    expect(await readLatestCheckpoint(await tmp())).toBeUndefined()
  })
})

describe('a vision-language adapter (PEFT keys under model.language_model and the projector)', () => {
  // the tiny LLaVA of test/vision: text hidden 32, 2 layers; CLIP hidden 32 → linear_1 [32 → 32]
  const llava = { family: 'llava', config: randomModelConfig({ id: 'llava-hf/llava-1.5-7b-hf', family: 'llava', random: { seed: 0, tokenizer: tinyTokenizer, config: tinyLlavaConfig } }) }
  const lora = (path: string, inF: number, outF: number): Array<[string, AdapterTensorShape]> => [
    [`base_model.model.model.${path}.lora_A.weight`, { shape: [4, inF], dtype: 'F32' }], [`base_model.model.model.${path}.lora_B.weight`, { shape: [outF, 4], dtype: 'F32' }],
  ]
  const json = { peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj', 'linear_1'], base_model_name_or_path: 'base' }
  const tensors = new Map([...lora('language_model.layers.0.self_attn.q_proj', 32, 32), ...lora('language_model.layers.1.self_attn.q_proj', 32, 32), ...lora('multi_modal_projector.linear_1', 32, 32)])

  it('checks clean against its model, and names a projector matrix of the wrong width', () => {
    expect(adapterIssues('/a', json, tensors, llava)).toEqual([])
    // the projector saved whole (modulesToSave): PEFT adapts it no further
    const saved = new Map([...lora('language_model.layers.0.self_attn.q_proj', 32, 32), ...lora('language_model.layers.1.self_attn.q_proj', 32, 32),
      ['base_model.model.model.multi_modal_projector.linear_1.weight', { shape: [32, 32], dtype: 'F32' }], ['base_model.model.model.multi_modal_projector.linear_1.bias', { shape: [32], dtype: 'F32' }]] as Array<[string, AdapterTensorShape]>)
    expect(adapterIssues('/a', { ...json, modules_to_save: ['multi_modal_projector'] }, saved, llava)).toEqual([])
    const wide = new Map([...tensors, ...lora('multi_modal_projector.linear_1', 64, 32)])
    expect(adapterIssues('/a', json, wide, llava).map((i) => `${i.code} ${i.message}`)).toEqual([
      "TK348 /a/adapter_model.safetensors: base_model.model.model.multi_modal_projector.linear_1.lora_A.weight has shape [4,64] but the model's projector linear_1 takes 32 features",
    ])
  })
})
