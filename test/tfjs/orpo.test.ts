// The orpo and simpo stages on tfjs, beyond the TRL parity (test/trl/orpo.test.ts): with no
// ref-logprobs node, data without pairs is a catalog error at train, before it loads the model.
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, inline, runGraph } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { tinyTokenizer } from '../data/helpers.ts'
import { tempDir } from '../graph/helpers.ts'

const model = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128 } },
} as const

describe('orpo on tfjs', () => {
  it("KTO's unpaired examples and no pair: NoPreferencePairs (TK440) at train, before it loads the model", async () => {
    const recipe = defineRecipe({
      name: 'tiny-orpo', model, stage: { kind: 'orpo' },
      data: { source: inline([{ prompt: 'hot?', completion: 'cold', label: true }, { prompt: 'up?', completion: 'up', label: false }]), format: 'openai', template: 'alpaca', maxLength: 48 },
      lora: { rank: 2, alpha: 4, targetModules: ['q_proj', 'v_proj'] },
      args: { batchSize: 2, maxSteps: 1, saveEvery: 'never' }, backend: 'tfjs', device: 'cpu', output: { merge: false },
    })
    const cacheDir = tempDir('orpo-cache')
    const graph = await compile(recipe, { baseDir: cacheDir, cacheDir })
    const executors = { ...dataExecutors, model: modelExecutor, ...createTfjsBackend({ device: 'cpu' }).executors }
    await expect(runGraph(graph, { recipe, cacheDir, runDir: tempDir('orpo-run'), baseDir: cacheDir, executors })).rejects.toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: A preference stage found no preference pairs
      ✖ TK440 stage "orpo" trains on pairs of a chosen and a rejected answer, but the tokenized data holds none (KTO's unpaired examples and plain conversations are not pairs) → at data.format
        fix: Give records with chosen and rejected answers (TRL's { prompt, chosen, rejected }, LLaMA-Factory's ranking: true, openai messages with chosen and rejected final turns; docs/data-formats.md), or train with stage { kind: 'sft' }.]
    `)
  })
})
