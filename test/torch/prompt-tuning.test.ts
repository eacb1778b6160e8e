// Prompt tuning (method: { kind: 'prompt-tuning' }) on both backends, on a tiny random model
// (hidden 64, 2 layers, the 322-token test tokenizer), cpu, float32: per-step losses agree (torch
// through PEFT's own PromptTuningConfig, both starting from the same TEXT-initialised virtual
// tokens); each backend's adapter is PEFT's layout (peft_type PROMPT_TUNING, prompt_embeddings) and
// loads in PEFT as-is with tunekit's logits; the graph has no merge node, and generate runs the
// base model with the adapter on both backends (the same greedy samples); plan's count is PEFT's
// (its catalog errors: test/core/peft-methods.test.ts).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, formatIssue, plan, type RecipeInput } from '@tunekit/core'
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, inspectAdapter, PROMPT_EMBEDDINGS, readModelConfig, readSafetensors, resolveModelDir } from '@tunekit/hf'
import { tinyTokenizer } from '../data/helpers.ts'
import { records, repoRoot, type Run } from './helpers.ts'
import { losses, relDiff, tfjsLogits, torchLogits, logged, TINY_IDS, trainOnBoth } from './logits.ts'

const STEPS = 6
const N = 4
const model = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
} as const
const method = { kind: 'prompt-tuning', numVirtualTokens: N, promptTuningInit: 'TEXT', promptTuningInitText: 'Add the two numbers' } as const

const recipe = (backend: 'tfjs' | 'torch', over: Partial<RecipeInput<'mistral', 'sft'>> = {}) =>
  defineRecipe<'mistral'>({
    name: 'tiny-prompt',
    model,
    data: { source: { kind: 'inline', records }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 0 } },
    tokens: { chatml: true },
    method,
    args: { batchSize: 2, maxSteps: STEPS, learningRate: 5e-2, warmupSteps: 1, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: 'never' },
    backend,
    device: 'cpu',
    output: { samples: ['What is 1 plus 3?'], maxNewTokens: 8 },
    ...over,
  })

const samples = (run: Run): unknown[] => readFileSync(join(run.artifact('generate'), 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown)

describe('prompt tuning on tfjs and torch (cpu, float32)', () => {
  let tfjs: Run
  let torch: Run

  it(`per-step losses agree to 1e-4 relative for ${STEPS} steps`, { timeout: 600_000 }, async () => {
    const both = await trainOnBoth(recipe, STEPS, 'prompt tuning')
    ;({ tfjs, torch } = both)
    const [a] = both.losses
    expect(a.at(-1)!).toBeLessThan(a[0]!)
  })

  it("writes PEFT's layout: peft_type PROMPT_TUNING and prompt_embeddings [n, hidden]", async () => {
    for (const run of [tfjs, torch]) {
      const json = JSON.parse(readFileSync(join(run.artifact('train'), ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>
      expect(json).toMatchObject({ peft_type: 'PROMPT_TUNING', task_type: 'CAUSAL_LM', num_virtual_tokens: N, token_dim: 64, prompt_tuning_init: 'TEXT', inference_mode: true })
      const { tensors } = await readSafetensors(join(run.artifact('train'), ADAPTER_WEIGHTS))
      expect([...tensors.keys()]).toEqual([PROMPT_EMBEDDINGS])
      expect(tensors.get(PROMPT_EMBEDDINGS)!.shape).toEqual([N, 64])
    }
  })

  it("each backend's adapter loads in PEFT with tunekit's logits (1e-5), and the backends trained the same prompt", { timeout: 300_000 }, async () => {
    const base = await resolveModelDir(tfjs.artifact('model'))
    const tokenizer = join(tfjs.artifact('train'), 'tokenizer')
    const [tfjsInPeft, torchInPeft] = await torchLogits([
      { model: base, adapter: tfjs.artifact('train') },
      { model: base, adapter: torch.artifact('train') },
    ], TINY_IDS)
    const figures = {
      'tfjs adapter: tfjs vs PEFT': relDiff(await tfjsLogits(base, tfjs.artifact('train'), tokenizer, TINY_IDS), tfjsInPeft!),
      'torch adapter: tfjs vs PEFT': relDiff(await tfjsLogits(base, torch.artifact('train'), tokenizer, TINY_IDS), torchInPeft!),
    }
    console.log(Object.entries(figures).map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'))
    for (const [what, diff] of Object.entries(figures)) expect(diff, what).toBeLessThan(1e-5)
    expect(relDiff(tfjsInPeft!, torchInPeft!)).toBeLessThan(1e-4)
    // the virtual tokens change the logits: the adapter is not the base model
    expect(relDiff(tfjsInPeft!, await tfjsLogits(base, undefined, tokenizer, TINY_IDS))).toBeGreaterThan(1e-3)
  })

  it('has no merge node; generate runs the base model with the adapter on both backends, with the same greedy samples', async () => {
    for (const run of [tfjs, torch]) expect(run.result.nodes.map((n) => n.id)).not.toContain('merge')
    expect(samples(tfjs)).toEqual(samples(torch))
    console.log(`samples: ${JSON.stringify(samples(tfjs))}`)
  })

  it("plan's trainable count is PEFT's get_nb_trainable_parameters() (the torch worker logs it), and tfjs trains as many", async () => {
    const graph = await compile(recipe('torch'), { baseDir: repoRoot, cacheDir: torch.cacheDir })
    const p = plan(graph, { cacheDir: torch.cacheDir })
    const counted = 'params' in p.model ? p.model.params.trainable : NaN
    expect(counted).toBe(N * 64)
    expect(counted).toBe(logged(torch.events, /([\d,]+) trainable of/))
    expect(counted).toBe(logged(tfjs.events, /(\d+) trainable parameters/))
  })

  it('a prompt-tuning adapter applied to a model of another width is a catalog error before anything loads (TK348)', async () => {
    const dir = torch.artifact('train')
    const { family, config } = await readModelConfig(await resolveModelDir(tfjs.artifact('model')))
    expect(inspectAdapter(dir, { family, config }).filter((i) => i.severity === 'error')).toEqual([])
    const issues = inspectAdapter(dir, { family, config: { ...config, hiddenSize: 32 } })
    expect(issues.map(formatIssue).join('\n').replaceAll(dir, '$DIR').replace(/base_model_name_or_path: [^)]*/g, 'base_model_name_or_path: $BASE')).toMatchInlineSnapshot(`
      "✖ TK348 $DIR/adapter_model.safetensors: token_dim is 64, but the model's hidden_size is 32 → at prompt_embeddings
        fix: Apply the adapter to the model it was trained on (base_model_name_or_path: $BASE): \`tunekit chat <that model folder> --adapter <adapter>\`."
    `)
  })
})
