// The qa stage's train node on both backends, through the real pipeline: the same tiny random
// BERT (2 layers, hidden 32), the same seeded FAQ windows and batch order; qa-train run once by
// tfjs's executor and once by the torch worker's (transformers' AutoModelForQuestionAnswering).
// Per-step losses agree within 1e-4 relative (full and LoRA), the torch artifact, read by tfjs's
// encoder, gives the start/end logits transformers gave in the torch qa-eval within 1e-5, and the
// torch qa-eval's report is SQuAD over its predictions. The LoRA case starts from a checkpoint in
// bert-base-uncased's layout (BertForMaskedLM: LayerNorm gamma / beta, an MLM head, no qa_outputs):
// transformers reads it on torch and tunekit's loader on tfjs, both start the same fresh head.
import { existsSync, mkdtempSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compile, defineRecipe, file, runGraph, workDirOf, type NodeExecutor, type QaEvalReport, type Recipe, type RunGraphOptions } from '@tunekit/core'
import { dataExecutors, writeWordPieceTokenizer, type QaExample, type QaFeatureLine } from '@tunekit/data'
import { squadV1 } from '@tunekit/eval'
import { createRandomModel, modelExecutor, randomModelConfig, readSafetensors, writeSafetensors } from '@tunekit/hf'
import { faqParagraphs, faqSquadJson } from '@tunekit/recipes'
import { createTfjsBackend, loadEncoder, qaBatch, qaLogits, selectEngine } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { beforeAll, describe, expect, it } from 'vitest'
import { python } from './helpers.ts'

let root: string
let tokenizer: string
let pretrained: string
const bertConfig = { vocab_size: 200, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 }

/** A random BERT re-saved as bert-base-uncased stores its weights: gamma / beta, a `cls.` MLM bias, no QA head. */
async function writePretrainedLayout(dir: string): Promise<void> {
  const random = { id: 'tiny-bert', family: 'bert' as const, random: { seed: 7, tokenizer, config: bertConfig } }
  await createRandomModel(dir, { family: 'bert', config: randomModelConfig(random), seed: 7, tokenizer })
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'))
  const renamed = [...tensors].filter(([n]) => !n.startsWith('qa_outputs.')).map(([n, t]) => [n.includes('LayerNorm.') ? n.replace(/\.weight$/, '.gamma').replace(/\.bias$/, '.beta') : n, t] as const)
  await writeSafetensors(join(dir, 'model.safetensors'), [...renamed, ['cls.predictions.bias', { shape: [200], data: new Float32Array(200) }]])
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, architectures: ['BertForMaskedLM'] }))
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tunekit-torch-qa-'))
  tokenizer = join(root, 'tokenizer')
  const paragraphs = faqParagraphs({ seed: 3, paragraphs: 6 })
  await writeWordPieceTokenizer(tokenizer, paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]), { vocabSize: 200, modelMaxLength: 64 })
  await writeFile(join(root, 'faq.json'), JSON.stringify(faqSquadJson({ seed: 3, paragraphs: 6 })))
  pretrained = join(root, 'pretrained')
  await writePretrainedLayout(pretrained)
})

const recipe = (method: 'full' | 'lora', backend: 'tfjs' | 'torch'): Recipe<'bert'> => {
  const common = {
    name: `qa-parity-${method}`,
    model: method === 'full' ? { id: 'tiny-bert', family: 'bert' as const, random: { seed: 0, tokenizer, config: bertConfig } } : { id: 'tiny-bert-pretrained', family: 'bert' as const, path: pretrained },
    stage: { kind: 'qa' as const, docStride: 16 },
    data: { source: file(join(root, 'faq.json')), format: 'squad' as const, maxLength: 48, split: { eval: 0.25, seed: 1 } },
    args: { batchSize: 4, maxSteps: 4, learningRate: 2e-3, warmupSteps: 1, lrScheduler: 'linear' as const, maxGradNorm: 0.5, saveEvery: method === 'full' ? ('never' as const) : 2 },
    backend,
  }
  return method === 'full' ? defineRecipe({ ...common, method: { kind: 'full' } }) : defineRecipe({ ...common, lora: { rank: 4, alpha: 8, targetModules: ['query', 'value'] } })
}

/** Runs the recipe on `name`'s backend up to qa-train (or qa-eval when given); the nodes' folders. */
async function trainWith(name: 'tfjs' | 'torch', method: 'full' | 'lora', executors: Partial<Record<'qa-train' | 'qa-eval', NodeExecutor>>, run: Partial<Pick<RunGraphOptions, 'signal' | 'onEvent'>> = {}) {
  const r = recipe(method, name)
  const dirs = { cacheDir: join(root, `${name}-${method}`, 'cache'), runDir: join(root, `${name}-${method}`, 'run'), baseDir: root }
  const graph = await compile(r, dirs)
  await runGraph(graph, { recipe: r, ...dirs, ...run, until: executors['qa-eval'] ? 'qa-eval' : 'qa-train', executors: { ...dataExecutors, model: modelExecutor, ...executors } })
  const key = (id: string) => graph.nodes.find((n) => n.id === id)!.key
  const dir = (id: string) => join(dirs.cacheDir, key(id))
  return { train: dir('qa-train'), features: dir('qa-features'), eval: dir('qa-eval'), evalWork: workDirOf(dirs.cacheDir, key('qa-eval')) }
}

const lossesOf = async (dir: string) => (JSON.parse(await readFile(join(dir, 'trainer_state.json'), 'utf8')) as { lossHistory: number[] }).lossHistory

describe('qa-train on torch and tfjs', () => {
  it('trains the same losses step by step, the torch artifact gives the same logits in tfjs and transformers, and the torch qa-eval scores it', async () => {
    await selectEngine('cpu')
    const tfjs = await trainWith('tfjs', 'full', { 'qa-train': createTfjsBackend({ device: 'cpu' }).executors['qa-train']! })
    const backend = createTorchBackend({ python })
    const torch = await trainWith('torch', 'full', { 'qa-train': backend.executors['qa-train']!, 'qa-eval': backend.executors['qa-eval']! })
    const [a, b] = [await lossesOf(tfjs.train), await lossesOf(torch.train)]
    expect(a.length).toBe(4)
    expect(b.length).toBe(4)
    a.forEach((l, i) => expect(Math.abs(l - b[i]!) / Math.abs(l)).toBeLessThan(1e-4))
    expect(a.at(-1)!).not.toBeCloseTo(a[0]!, 3) // the steps moved the weights

    const config = JSON.parse(await readFile(join(torch.train, 'config.json'), 'utf8')) as { architectures: string[] }
    expect(config.architectures).toEqual(['BertForQuestionAnswering'])
    // transformers' logits of the trained folder on the held-out windows, as the torch qa-eval's worker wrote them (case 1: the trained model)
    const request = JSON.parse(await readFile(join(torch.evalWork, 'qa-logits', 'request.json'), 'utf8')) as { cases: Array<{ model: string; rows: Array<{ ids: number[]; typeIds: number[] }>; out: string }> }
    expect(request.cases[1]!.model).toBe(torch.train)
    const rows = request.cases[1]!.rows.map((r) => ({ ...r, startPosition: 0, endPosition: 0 }))
    const reference = (await readSafetensors(request.cases[1]!.out)).tensors
    const model = await loadEncoder(torch.train)
    const logits = qaLogits(model, qaBatch(rows, 0))
    const far = (t: { dataSync(): unknown }, ref: Float32Array) => Math.max(...(t.dataSync() as Float32Array).map((x, i) => Math.abs(x - ref[i]!)))
    expect(far(logits.start, reference.get('start')!.data as Float32Array)).toBeLessThan(1e-5)
    expect(far(logits.end, reference.get('end')!.data as Float32Array)).toBeLessThan(1e-5)
    for (const t of [logits.start, logits.end, ...model.weights.values()]) t.dispose()
    // the torch qa-eval: predictions are spans of their contexts, and report.json is SQuAD v1.1 over them
    const report = JSON.parse(await readFile(join(torch.eval, 'report.json'), 'utf8')) as QaEvalReport
    expect(report.metric).toBe('squad')
    const held = (await readFile(join(torch.features, 'eval', 'examples.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as QaExample)
    const predictions = (await readFile(join(torch.eval, 'predictions.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; answer: string; base: string })
    expect(predictions.map((p) => p.id)).toEqual(held.map((e) => e.id))
    predictions.forEach((p, i) => expect(held[i]!.context).toContain(p.answer))
    expect(report.trained).toEqual(squadV1(predictions.map((p) => p.answer), held.map((e) => e.answers.text)))
  })

  it('trains LoRA from a checkpoint without its QA head (qa_outputs fresh and saved, the seeded draws both sides make) to the same losses, resumes an interrupted torch run, and writes adapter/ beside the merged model', async () => {
    await selectEngine('cpu')
    const tfjs = await trainWith('tfjs', 'lora', { 'qa-train': createTfjsBackend({ device: 'cpu' }).executors['qa-train']! })
    const backend = createTorchBackend({ python })
    const executors = { 'qa-train': backend.executors['qa-train']! }
    // Stopped at its first checkpoint (step 2; the worker checkpoints the step it reached and exits),
    // then run again: it resumes there, and steps 3–4 (Adam's moments restored) are tfjs's.
    const stop = new AbortController()
    await expect(trainWith('torch', 'lora', executors, { signal: stop.signal, onEvent: (e) => void (e.type === 'checkpoint' && stop.abort()) })).rejects.toThrow(/TK/)
    const steps: number[] = []
    const logs: string[] = []
    const torch = await trainWith('torch', 'lora', executors, { onEvent: (e) => void (e.type === 'step' ? steps.push(e.step) : e.type === 'log' && logs.push(e.message)) })
    expect(logs.some((m) => /resuming from .*checkpoint-[23] at step [23]/.test(m))).toBe(true)
    expect(steps[0]).toBeGreaterThan(2)
    const [a, b] = [await lossesOf(tfjs.train), await lossesOf(torch.train)]
    expect(b.length).toBe(4)
    a.forEach((l, i) => expect(Math.abs(l - b[i]!) / Math.abs(l)).toBeLessThan(1e-4))
    const adapter = JSON.parse(await readFile(join(torch.train, 'adapter', 'adapter_config.json'), 'utf8')) as { r: number; target_modules: string[]; modules_to_save: string[]; task_type: string | null }
    expect(adapter).toMatchObject({ r: 4, modules_to_save: ['qa_outputs'], task_type: null })
    const tfjsAdapter = JSON.parse(await readFile(join(tfjs.train, 'adapter', 'adapter_config.json'), 'utf8')) as Record<string, unknown>
    expect(tfjsAdapter).toMatchObject({ r: 4, modules_to_save: ['qa_outputs'], task_type: null })
    expect([...adapter.target_modules].sort()).toEqual(['query', 'value'])
    expect(existsSync(join(torch.train, 'adapter', 'adapter_model.safetensors')) && existsSync(join(torch.train, 'model.safetensors'))).toBe(true)
  })
})
