import { knownCheckpoints, type ModelConfig } from '@tunekit/core'
import { createRandomModel, modelWeightSpecs, openModelWeights, readModelConfig } from '@tunekit/hf'
import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const tiny: ModelConfig = { ...knownCheckpoints['tunekit/tiny-mistral']!.config, vocabSize: 1000, hiddenSize: 16, intermediateSize: 32, headDim: 4 }
const tmp = () => mkdtemp(join(tmpdir(), 'tk-rm-'))

describe('createRandomModel', () => {
  it('writes a Hugging Face folder, byte-identical for the same seed', async () => {
    const [a, b, c] = [await tmp(), await tmp(), await tmp()]
    await createRandomModel(a, { family: 'mistral', config: tiny, seed: 7, tokenizer: 'mistral' })
    await createRandomModel(b, { family: 'mistral', config: tiny, seed: 7, tokenizer: 'mistral' })
    await createRandomModel(c, { family: 'mistral', config: tiny, seed: 8, tokenizer: 'mistral' })
    expect((await readdir(a)).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'])
    for (const f of await readdir(a)) expect((await readFile(join(a, f))).equals(await readFile(join(b, f)))).toBe(true)
    expect((await readFile(join(a, 'model.safetensors'))).equals(await readFile(join(c, 'model.safetensors')))).toBe(false)

    const { family, config } = await readModelConfig(a)
    expect(family).toBe('mistral')
    expect(config).toEqual(tiny)
    expect(JSON.parse(await readFile(join(a, 'tokenizer_config.json'), 'utf8'))).toMatchObject({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', model_max_length: 2048 })
    expect(JSON.parse(await readFile(join(a, 'generation_config.json'), 'utf8'))).toEqual({ bos_token_id: 1, eos_token_id: 2 })

    const w = await openModelWeights(a)
    const embed = (await w.readFloat('model.embed_tokens.weight')).data
    const mean = embed.reduce((s, v) => s + v, 0) / embed.length
    const std = Math.sqrt(embed.reduce((s, v) => s + (v - mean) ** 2, 0) / embed.length)
    expect(Math.abs(mean)).toBeLessThan(1e-3)
    expect(std).toBeCloseTo(0.02, 3) // transformers' initializer_range
    expect(Array.from((await w.readFloat('model.norm.weight')).data)).toEqual(new Array(16).fill(1))
    expect(w.info('model.layers.1.self_attn.k_proj.weight').shape).toEqual([8, 16]) // [kv heads · headDim, hidden]
    await w.close()
  })

  it('names weights as transformers does, with qwen2 biases and tied embeddings', () => {
    const qwen: ModelConfig = { ...tiny, modelType: 'qwen2', numHiddenLayers: 1, attentionBias: true, tieWordEmbeddings: true }
    expect(modelWeightSpecs('qwen2', qwen).map((s) => `${s.name} ${JSON.stringify(s.shape)} ${s.init}`)).toMatchInlineSnapshot(`
      [
        "model.embed_tokens.weight [1000,16] normal",
        "model.layers.0.self_attn.q_proj.weight [16,16] normal",
        "model.layers.0.self_attn.q_proj.bias [16] zeros",
        "model.layers.0.self_attn.k_proj.weight [8,16] normal",
        "model.layers.0.self_attn.k_proj.bias [8] zeros",
        "model.layers.0.self_attn.v_proj.weight [8,16] normal",
        "model.layers.0.self_attn.v_proj.bias [8] zeros",
        "model.layers.0.self_attn.o_proj.weight [16,16] normal",
        "model.layers.0.mlp.gate_proj.weight [32,16] normal",
        "model.layers.0.mlp.up_proj.weight [32,16] normal",
        "model.layers.0.mlp.down_proj.weight [16,32] normal",
        "model.layers.0.input_layernorm.weight [16] ones",
        "model.layers.0.post_attention_layernorm.weight [16] ones",
        "model.norm.weight [16] ones",
      ]
    `)
  })
})
