// Interop with the Python stack (transformers + PEFT in .venv, or TUNEKIT_PYTHON): model folders
// written by createRandomModel load in transformers, adapters written by writeAdapter load in PEFT
// with the same values, and adapters PEFT writes read back here. One Python process for the file.
import { knownCheckpoints, type ModelConfig } from '@tunekit/core'
import { createRandomModel, createRng, fillNormal, initialAdapter, openModelWeights, parseAdapterKey, readAdapter, writeAdapter, type LoraSpec } from '@tunekit/hf'
import { execFileSync } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { workerPython } from '../python.ts'

const python = workerPython()
const script = fileURLToPath(new URL('./peft_check.py', import.meta.url))

// Tiny models on the real 32k Mistral vocabulary (the tokenizer they ship with).
const mistral: ModelConfig = { ...knownCheckpoints['tunekit/tiny-mistral']!.config, hiddenSize: 16, intermediateSize: 32, headDim: 4 }
const qwen: ModelConfig = { ...knownCheckpoints['Qwen/Qwen2-0.5B']!.config, vocabSize: 32000, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 4, maxPositionEmbeddings: 2048, bosTokenId: 1, eosTokenId: 2 }

interface CaseResult {
  ids: number[]
  base_finite: boolean
  architecture: string
  key_warnings: string[]
  written_keys: string[]
  loaded_keys: string[]
  max_abs_diff: number
  adapter_changes_logits: boolean
  peft_saves: string[]
  tunekit_writes: string[]
}

let root: string
let results: Record<string, CaseResult>
let plain: Record<string, { dtype: string; first: number[] }>

async function adapterFor(modelDir: string, family: string, config: ModelConfig, lora: LoraSpec, seed: number): Promise<string> {
  const weights = await openModelWeights(modelDir)
  const tensors = await initialAdapter({ family, config, lora, seed, baseTensors: weights })
  await weights.close()
  // Non-zero B so that a wrong mapping would change the logits and the compared values.
  for (const [key, t] of tensors) if (key.endsWith('lora_B.weight')) fillNormal(createRng(seed + 1, key), t.data, 0, 0.1)
  const dir = join(root, `adapter-${family}`)
  await writeAdapter(dir, { tensors, loraConfig: lora, family, baseModel: modelDir })
  return dir
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tk-py-'))
  const mistralDir = join(root, 'mistral')
  const qwenDir = join(root, 'qwen2')
  await createRandomModel(mistralDir, { family: 'mistral', config: mistral, seed: 1, tokenizer: 'mistral', maxShardSize: '2MB' })
  await createRandomModel(qwenDir, { family: 'qwen2', config: { ...qwen, tieWordEmbeddings: true }, seed: 2, tokenizer: 'mistral' })
  const cases = [
    {
      name: 'mistral',
      model: mistralDir,
      adapter: await adapterFor(mistralDir, 'mistral', mistral, { rank: 4, alpha: 8, targetModules: 'all-linear', modulesToSave: ['lm_head', 'embed_tokens'] }, 3),
    },
    {
      name: 'qwen2',
      model: qwenDir,
      adapter: await adapterFor(qwenDir, 'qwen2', { ...qwen, tieWordEmbeddings: true }, { rank: 2, alpha: 4, init: 'gaussian', targetModules: ['q_proj', 'v_proj'], trainableTokens: { embed_tokens: [5, 7] } }, 4),
      save_to: join(root, 'peft-written'),
    },
  ]
  const bf16Dir = join(root, 'bf16')
  await createRandomModel(bf16Dir, { family: 'mistral', config: { ...mistral, numHiddenLayers: 1 }, seed: 5, tokenizer: 'mistral', floatDtype: 'BF16' })
  const spec = join(root, 'spec.json')
  await writeFile(spec, JSON.stringify({ cases, plain_models: { bf16: bf16Dir } }))
  const stdout = execFileSync(python, [script, spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 })
  const all = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>
  results = { mistral: all.mistral as CaseResult, qwen2: all.qwen2 as CaseResult }
  plain = { bf16: all.bf16 as { dtype: string; first: number[] } }
})

describe('transformers and PEFT load what tunekit writes', () => {
  it('loads random models and runs a forward pass', () => {
    expect(results.mistral!.architecture).toBe('MistralForCausalLM')
    expect(results.qwen2!.architecture).toBe('Qwen2ForCausalLM')
    expect(results.mistral!.ids).toEqual([1, 22557, 1526]) // <s> Hello world
    expect(results.mistral!.base_finite && results.qwen2!.base_finite).toBe(true)
  })

  it('loads a bfloat16 folder as bfloat16 with the values tunekit reads', async () => {
    expect(plain.bf16!.dtype).toBe('torch.bfloat16')
    const w = await openModelWeights(join(root, 'bf16'))
    expect(w.info('model.embed_tokens.weight').dtype).toBe('BF16')
    expect(Array.from((await w.readFloat('model.embed_tokens.weight')).data.subarray(0, 4))).toEqual(plain.bf16!.first)
    await w.close()
  })

  it('loads adapters without missing or unexpected keys, with the values written', () => {
    for (const r of Object.values(results)) {
      expect(r.key_warnings).toEqual([])
      expect(r.loaded_keys).toEqual(r.written_keys)
      expect(r.max_abs_diff).toBe(0)
      expect(r.adapter_changes_logits).toBe(true)
      expect(r.tunekit_writes).toEqual(r.peft_saves) // same keys and shapes as PEFT itself saves
    }
    expect(results.mistral!.written_keys.filter((k) => !k.includes('.layers.'))).toEqual(['base_model.model.lm_head.weight', 'base_model.model.model.embed_tokens.weight'])
    expect(results.qwen2!.tunekit_writes.filter((k) => !k.includes('.layers.'))).toEqual(['base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta [2, 16]'])
  })

  it('reads an adapter that PEFT wrote', async () => {
    const adapter = await readAdapter(join(root, 'peft-written'))
    expect(adapter.loraConfig).toMatchObject({ rank: 2, alpha: 4, init: 'gaussian', trainableTokens: { embed_tokens: [5, 7] } })
    expect([...adapter.loraConfig.targetModules].sort()).toEqual(['q_proj', 'v_proj']) // PEFT saves a set
    expect([...adapter.tensors.keys()].map((k) => parseAdapterKey(k)?.kind).sort()).toEqual(['lora', 'lora', 'lora', 'lora', 'lora', 'lora', 'lora', 'lora', 'tokens'])
  })
})
