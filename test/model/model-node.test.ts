import { compile, defineRecipe, inline, TunekitError, type NodeContext, type RecipeInput, type RunEventInput } from '@tunekit/core'
import { createRandomModel, modelExecutor, openModelWeights, randomModelConfig, readModelConfig, resolveModelDir } from '@tunekit/hf'
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

const tmp = () => mkdtemp(join(tmpdir(), 'tk-mn-'))

type ModelInput = RecipeInput<'mistral'>['model']

/** Compiles a recipe with this model group and runs its real `model` node into a fresh folder. */
async function runModelNode(model: ModelInput, baseDir: string): Promise<{ outDir: string; events: RunEventInput[] }> {
  const recipe = defineRecipe<'mistral'>({ name: 't', model, data: { source: inline([{ prompt: 'a', response: 'b' }]), format: { kind: 'columns', prompt: 'prompt', response: 'response' } }, args: { epochs: 1 } })
  const graph = await compile(recipe, { baseDir, env: process.env })
  const node = graph.nodes.find((n) => n.id === 'model')!
  const outDir = await tmp()
  const events: RunEventInput[] = []
  const ctx: NodeContext = {
    node, graph, recipe, outDir, workDir: await tmp(), runDir: baseDir, baseDir,
    input: () => { throw new Error('the model node has no input') },
    emit: (e) => events.push(e),
    signal: new AbortController().signal,
  }
  await modelExecutor(ctx)
  return { outDir, events }
}

const saved = { ...process.env }
afterEach(() => {
  for (const k of ['HF_HOME', 'HF_HUB_CACHE', 'TUNEKIT_MODEL_PATH']) {
    if (saved[k] === undefined) delete process.env[k]
    else process.env[k] = saved[k]
  }
})

describe('model node', () => {
  it('creates a random model from a known checkpoint config with HF-named overrides', async () => {
    const { outDir, events } = await runModelNode({ id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 3, config: { hidden_size: 32, num_hidden_layers: 1 } } }, await tmp())
    expect((await readdir(outDir)).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'])
    const { config } = await readModelConfig(outDir)
    expect(config).toMatchObject({ hiddenSize: 32, numHiddenLayers: 1, headDim: 8, numAttentionHeads: 4, numKeyValueHeads: 2, vocabSize: 32000, slidingWindow: 1024 })
    expect(await resolveModelDir(outDir)).toBe(outDir)
    expect(events[0]).toMatchObject({ type: 'log', level: 'info' })
    const w = await openModelWeights(outDir)
    expect(w.names).toHaveLength(1 + 9 + 2) // embed, one layer, norm, lm_head
    // a name the model lacks rejects the promise (so a caller's .catch sees it), never throws synchronously
    const missing = w.readFloat('model.layers.7.mlp.up_proj.weight')
    await expect(missing).rejects.toThrow('has no tensor')
    await w.close()
  })

  it('rejects random configs that cannot make a model', () => {
    const err = (config: Record<string, number>) => {
      try {
        randomModelConfig({ id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 0, tokenizer: 'mistral', config } })
      } catch (e) {
        return (e as TunekitError).issues[0]!.message
      }
      return 'no error'
    }
    expect(err({ num_attention_heads: 3 })).toMatchInlineSnapshot(`"hidden_size 64 is not divisible by num_attention_heads 3"`)
    expect(err({ num_attention_heads: 6, num_key_value_heads: 4, hidden_size: 60 })).toMatchInlineSnapshot(`"num_attention_heads 6 is not a multiple of num_key_value_heads 4"`)
    expect(err({ num_attention_heads: 4, hidden_size: 36 })).toMatchInlineSnapshot(`"head_dim 9 is odd; rotary embeddings need an even width"`)
    expect(err({ hidden_size: 48 })).toBe('no error') // head_dim follows: 48 / 4 = 12
  })

  it('refers to a local folder (model.path) with model-ref.json', async () => {
    const base = await tmp()
    const folder = join(base, 'weights')
    await createRandomModel(folder, { family: 'mistral', config: randomModelConfig({ id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 0, tokenizer: 'mistral', config: { vocab_size: 32000, hidden_size: 16, num_hidden_layers: 1 } } }), seed: 0, tokenizer: 'mistral' })
    const { outDir } = await runModelNode({ id: 'mistralai/Mistral-7B-v0.1', family: 'mistral', path: './weights' }, base)
    expect(JSON.parse(await readFile(join(outDir, 'model-ref.json'), 'utf8'))).toEqual({ path: folder })
    expect(await resolveModelDir(outDir)).toBe(folder)
  })

  it('finds a model in the Hub cache at the revision ref', async () => {
    const hub = await tmp()
    process.env.HF_HUB_CACHE = hub
    const repo = join(hub, 'models--mistralai--Mistral-7B-v0.1')
    const commit = 'a'.repeat(40)
    await mkdir(join(repo, 'refs'), { recursive: true })
    await writeFile(join(repo, 'refs', 'main'), commit)
    // The model node checks the folder as the plan does, so the snapshot holds a real (tiny) model.
    const config = randomModelConfig({ id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 0, tokenizer: 'mistral', config: { hidden_size: 16, num_hidden_layers: 1 } } })
    await createRandomModel(join(repo, 'snapshots', commit), { family: 'mistral', config, seed: 0, tokenizer: 'mistral' })
    const { outDir } = await runModelNode({ id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }, await tmp())
    expect(await resolveModelDir(outDir)).toBe(join(repo, 'snapshots', commit))
  })

  it('names every place it looked when the weights are missing', async () => {
    const hub = await tmp()
    process.env.HF_HUB_CACHE = hub
    delete process.env.TUNEKIT_MODEL_PATH
    const e = await runModelNode({ id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }, await tmp()).then(() => undefined, (err: unknown) => err as TunekitError)
    expect(e).toBeInstanceOf(TunekitError)
    expect(e!.message.replaceAll(hub, '$HF_HUB_CACHE')).toMatchInlineSnapshot(`
      "Model weights not found
      ✖ TK301 the weights of "mistralai/Mistral-7B-v0.1" are not on this machine (looked in $HF_HUB_CACHE/models--mistralai--Mistral-7B-v0.1/snapshots/main) → at model.id
        value: "mistralai/Mistral-7B-v0.1"
        fix: Download them once (huggingface-cli download mistralai/Mistral-7B-v0.1) into the Hub cache (HF_HOME), pass a local folder with --model-path or TUNEKIT_MODEL_PATH, or allow downloads by unsetting HF_HUB_OFFLINE."
    `)
  })
})
