// The torch backend through the real pipeline: a tiny random model trains on CPU in the Python
// worker, events arrive, PEFT loads the adapter, Ctrl-C checkpoints and a rerun resumes exactly.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readAdapter } from '@tunekit/hf'
import { createTorchBackend } from '@tunekit/torch'
import type { RunEvent } from '@tunekit/core'
import { python, pythonJson, runRecipe, tempDir, tinyRecipe, type Run } from './helpers.ts'

const backend = createTorchBackend({ python })
const readState = (dir: string): { step: number; lossHistory: number[]; backend: string } => JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8'))

let full: Run | undefined
const fullRun = async (): Promise<Run> => (full ??= await runRecipe(tinyRecipe(), backend))

// Generous timeouts: each test starts Python workers (torch import) on a possibly busy machine.
describe('torch backend (cpu)', { timeout: 400_000 }, () => {
  it('reports what it runs on', async () => {
    const caps = await backend.capabilities()
    expect(caps.engine).toMatch(/^torch-(cpu|cuda)$/)
    expect(caps.reason).toContain('torch 2.11.0')
  })

  it('trains the tiny recipe in the worker; events, adapter, merged model', async () => {
    const run = await fullRun()
    const steps = run.events.filter((e) => e.type === 'step')
    const state = readState(run.artifact('train'))
    expect(state.backend).toBe('torch')
    expect(steps.map((e) => e.step)).toEqual(Array.from({ length: state.step }, (_, i) => i + 1))
    expect(steps.every((e) => e.node === 'train' && Number.isFinite(e.loss) && e.tokensPerSecond > 0)).toBe(true)
    expect(steps.map((e) => e.loss)).toEqual(state.lossHistory)
    const evals = run.events.flatMap((e) => (e.type === 'eval' ? [e] : []))
    expect(evals.filter((e) => e.node === 'train').length).toBe(3) // evalEvery 'epoch'
    // the eval node after train: the trained adapter on the same eval batches as the last epoch's eval
    const [node] = evals.filter((e) => e.node === 'eval')
    expect(node!.step).toBe(state.step)
    expect(node!.perplexity! / Math.exp(node!.loss)).toBeCloseTo(1, 12) // Python's exp, not JS's: the last bit may differ
    expect(Math.abs(node!.loss - evals.filter((e) => e.node === 'train').at(-1)!.loss) / node!.loss).toBeLessThan(1e-5)
    expect(run.events.some((e) => e.type === 'checkpoint')).toBe(true) // saveEvery 'epoch'
    expect(run.events.some((e) => e.type === 'log' && e.message.includes('train on torch-'))).toBe(true)
    const adapter = await readAdapter(run.artifact('train'))
    expect(adapter.json.peft_type).toBe('LORA')
    expect([...adapter.tensors.keys()]).toContain('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')
    const merged = run.artifact('merge')
    expect(JSON.parse(readFileSync(join(merged, 'config.json'), 'utf8')).model_type).toBe('mistral')
    expect(readFileSync(join(merged, 'tokenizer.json'), 'utf8').length).toBeGreaterThan(0)
  })

  it('starts from the seeded initial adapter and PEFT loads what it wrote', async () => {
    const run = await fullRun()
    const initial = await readAdapter(join(run.work('train'), 'initial-adapter'))
    const key = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'
    const trained = await readAdapter(run.artifact('train'))
    // A moved from its seeded start, B from zero
    expect(initial.tensors.get(key)!.data).not.toEqual(trained.tensors.get(key)!.data)
    const sum = (k: string): number => trained.tensors.get(k)!.data.reduce((a, b) => a + b, 0)
    const fromPeft = pythonJson(
      `import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import PeftModel
base = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32)
base.resize_token_embeddings(len(AutoTokenizer.from_pretrained(sys.argv[2] + "/tokenizer")))  # the added ChatML tokens
m = PeftModel.from_pretrained(base, sys.argv[2])
layer = m.base_model.model.model.layers[0].self_attn.q_proj
print(json.dumps({"a": float(layer.lora_A["default"].weight.double().sum()), "b": float(layer.lora_B["default"].weight.double().sum())}))`,
      [run.artifact('model'), run.artifact('train')],
    ) as { a: number; b: number }
    expect(fromPeft.a).toBeCloseTo(sum(key), 4)
    expect(fromPeft.b).toBeCloseTo(sum(key.replace('lora_A', 'lora_B')), 4)
  })

  it('generates from the merged model for `tunekit chat`, streaming pieces', async () => {
    const run = await fullRun()
    const pieces: string[] = []
    const text = await backend.generate({ model: run.artifact('merge'), prompt: '<|im_start|>user\nWhat is 1 plus 3?<|im_end|>\n<|im_start|>assistant\n', maxNewTokens: 4 }, (t) => pieces.push(t))
    expect(typeof text).toBe('string')
    expect(pieces.join('').trim()).toBe(text.trim())
  })

  it('Ctrl-C checkpoints the run and a rerun resumes exactly where it stopped', async () => {
    const reference = await fullRun()
    const recipe = tinyRecipe()
    const cacheDir = tempDir('resume')
    const abort = new AbortController()
    const seen: RunEvent[] = []
    const error = await runRecipe(recipe, backend, {
      cacheDir,
      until: 'train',
      signal: abort.signal,
      onEvent: (e) => {
        seen.push(e)
        if (e.type === 'step' && e.step === 1) abort.abort()
      },
    }).then(() => undefined, (e: unknown) => e)
    expect((error as { code?: string }).code).toBe('TK404')
    const saved = seen.filter((e) => e.type === 'checkpoint').map((e) => e.step)
    const total = readState(reference.artifact('train')).step
    expect(saved.length).toBeGreaterThan(0)
    expect(saved.at(-1)!).toBeLessThan(total)
    // the rerun reuses the cache: data nodes are cached, train resumes from the checkpoint
    const resumed = await runRecipe(recipe, backend, { cacheDir, until: 'train' })
    const steps = resumed.events.filter((e) => e.type === 'step').map((e) => e.step)
    expect(steps[0]).toBe(saved.at(-1)! + 1)
    expect(readState(resumed.artifact('train')).lossHistory).toEqual(readState(reference.artifact('train')).lossHistory)
    const a = await readAdapter(reference.artifact('train'))
    const b = await readAdapter(resumed.artifact('train'))
    for (const [key, t] of a.tensors) expect(b.tensors.get(key)!.data, key).toEqual(t.data)
  })
})
