// The compatibility matrix: the merged model and the adapter that each backend writes for the same
// tiny recipe load as-is in the pinned stack (.venv: transformers 5, PEFT 0.21, tokenizers 0.23)
// and in an old one (.venv-compat: transformers 4.38.2, PEFT 0.9.0, tokenizers 0.15.2), and give
// tunekit's own logits (tfjs on the same folder) and greedy answers. The base is bf16 with
// rope_theta 500000 (a Llama-3-like setting that transformers 4.38 would silently replace by 10000
// without `rope_theta`), so the checks also cover the dtype a merge keeps; ChatML over a tokenizer
// that adds bos covers the bos the saved template must write. One Python process per stack.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { defineRecipe, inline, type Recipe } from '@tunekit/core'
import { chatTemplate, loadTokenizer, readShards, renderChat, sampleOf } from '@tunekit/data'
import { createRandomModel, randomModelConfig, readSafetensors, readWeightHeadersSync, resolveModelDir } from '@tunekit/hf'
import { createTfjsBackend, encodePrompt, forward, loadForGeneration, selectEngine } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { compatPython, workerPython } from '../python.ts'
import { records, runRecipe, tempDir, tinyModel, type Run } from '../torch/helpers.ts'
import { relDiff } from '../torch/logits.ts'

const MAX_NEW = 4
const BACKENDS = ['tfjs', 'torch'] as const
type BackendName = (typeof BACKENDS)[number]
const PROMPT = [{ role: 'user' as const, content: 'What is 3 plus 5?' }]

function recipe(backend: BackendName, base: string): Recipe<'mistral'> {
  return defineRecipe<'mistral'>({
    name: 'compat-matrix',
    model: { id: 'tunekit/tiny-mistral-bf16', path: base, family: 'mistral', dtype: 'float32' },
    data: { source: inline(records.slice(0, 8)), format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 0 } },
    tokens: { chatml: true },
    // modules_to_save, not trainable tokens: the added tokens' rows load in PEFT 0.9 (trainable tokens need PEFT ≥ 0.15)
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], modulesToSave: ['embed_tokens', 'lm_head'], trainableTokens: false },
    args: { batchSize: 2, maxSteps: 3, learningRate: 1e-2, logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: 'never' },
    backend,
    device: 'cpu',
    output: { merge: true },
  })
}

interface CaseReport { prompt: number[]; sample: number[]; greedy: number[]; dtype: string }
interface StackReport { versions: Record<string, string>; cases: CaseReport[]; ropeTheta?: { read: number } }
interface Case { backend: BackendName; artifact: 'merged' | 'adapter'; model?: string; adapter?: string; out: string }

/** One process of `python` loading every case (test/compat/load_artifacts.py). */
async function loadAll(python: string, cases: Case[], ids: number[], sample: unknown, ropeCheck?: { model: string; out: string }): Promise<StackReport> {
  const dir = tempDir('compat')
  const request = join(dir, 'request.json')
  writeFileSync(request, JSON.stringify({ cases: cases.map((c) => ({ ...(c.model ? { model: c.model } : {}), ...(c.adapter ? { adapter: c.adapter } : {}), out: c.out })), ids, prompt: PROMPT, sample, maxNewTokens: MAX_NEW, ...(ropeCheck ? { ropeCheck } : {}) }))
  const child = spawn(python, [join(import.meta.dirname, 'load_artifacts.py'), request], { env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', PYTHONWARNINGS: 'ignore' } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  if (code !== 0) throw new Error(`${python} exited ${code}:\n${stderr.slice(-3000)}`)
  return JSON.parse(stdout.trim().split('\n').pop()!) as StackReport
}

const logitsOf = async (file: string): Promise<Float32Array> => (await readSafetensors(file)).tensors.get('logits')!.data as Float32Array

/** tunekit's own logits of `ids` and greedy continuation (tfjs on the folder; argmax, no eos stop). */
async function tunekitOwn(model: string, adapter: string | undefined, tokenizerDir: string, ids: number[]): Promise<{ logits: Float32Array; greedy: number[] }> {
  await selectEngine('cpu')
  const m = await loadForGeneration(model, adapter, tokenizerDir)
  const run = (seq: number[]): Float32Array => {
    const batch = { batch: 1, seq: seq.length, ids: Int32Array.from(seq), positions: Int32Array.from(seq, (_, i) => i), segments: new Int32Array(seq.length) }
    const out = forward(m.model, m.adapter, batch)
    const data = out.dataSync() as Float32Array
    out.dispose()
    return data
  }
  try {
    const logits = run(ids)
    const seq = [...ids]
    for (let i = 0; i < MAX_NEW; i++) {
      const all = run(seq)
      const last = all.subarray(all.length - all.length / seq.length)
      seq.push(last.indexOf(Math.max(...last)))
    }
    return { logits, greedy: seq.slice(ids.length) }
  } finally {
    m.dispose()
  }
}

describe('compatibility matrix: each backend × stack × artifact', { timeout: 600_000 }, () => {
  const runs = {} as Record<BackendName, Run>
  let base = ''

  beforeAll(async () => {
    const dir = tempDir('bf16-base')
    base = join(dir, 'base')
    const config = randomModelConfig({ id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 1, tokenizer: 'mistral', config: { ...tinyModel.random.config, rope_theta: 500000 } } })
    await createRandomModel(base, { family: 'mistral', config, seed: 1, tokenizer: 'mistral', floatDtype: 'BF16' })
    const cacheDir = tempDir('cache')
    // one cache: the model, data and tokenize artifacts are the same for both runs
    // concurrently: the torch run works in its own processes while tfjs computes in this one (the shared nodes wait on the cache lock)
    ;[runs.tfjs, runs.torch] = await Promise.all([
      runRecipe(recipe('tfjs', base), createTfjsBackend({ device: 'cpu' }), { cacheDir }),
      runRecipe(recipe('torch', base), createTorchBackend({ python: workerPython() }), { cacheDir }),
    ])
  })

  it('writes the same metadata bytes whichever backend trained, in the widest form', () => {
    const files = (dir: string, names: string[]): Record<string, string> => Object.fromEntries(names.map((n) => [n, readFileSync(join(dir, n), 'utf8')]))
    const trainFiles = ['adapter_config.json', 'chat_template.jinja', ...readdirSync(join(runs.tfjs.artifact('train'), 'tokenizer')).map((n) => `tokenizer/${n}`)]
    const mergeFiles = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja']
    expect(files(runs.torch.artifact('train'), trainFiles)).toEqual(files(runs.tfjs.artifact('train'), trainFiles))
    expect(files(runs.torch.artifact('merge'), mergeFiles)).toEqual(files(runs.tfjs.artifact('merge'), mergeFiles))

    const config = JSON.parse(readFileSync(join(runs.torch.artifact('merge'), 'config.json'), 'utf8')) as Record<string, unknown>
    expect({ rope_theta: config.rope_theta, rope_scaling: config.rope_scaling, rope_parameters: config.rope_parameters, torch_dtype: config.torch_dtype, dtype: config.dtype, vocab_size: config.vocab_size })
      .toEqual({ rope_theta: 500000, rope_scaling: null, rope_parameters: { rope_type: 'default', rope_theta: 500000 }, torch_dtype: 'bfloat16', dtype: 'bfloat16', vocab_size: 32002 })
    const adapter = JSON.parse(readFileSync(join(runs.torch.artifact('train'), 'adapter_config.json'), 'utf8')) as Record<string, unknown>
    expect(Object.keys(adapter)).toEqual(['base_model_name_or_path', 'bias', 'fan_in_fan_out', 'inference_mode', 'init_lora_weights', 'lora_alpha', 'lora_dropout', 'modules_to_save', 'peft_type', 'r', 'target_modules', 'task_type'])
    expect(adapter.base_model_name_or_path).toBe(base) // the folder the base was read from: loadable, unlike the recipe's id
    const template = JSON.parse(readFileSync(join(runs.torch.artifact('merge'), 'tokenizer_config.json'), 'utf8')).chat_template as string
    expect(template).toBe(readFileSync(join(runs.torch.artifact('merge'), 'chat_template.jinja'), 'utf8'))
    expect(template.startsWith('{{ bos_token }}')).toBe(true)
    // merged weights stay bf16, as the base is, on both backends
    for (const b of BACKENDS) expect(new Set([...readWeightHeadersSync(runs[b].artifact('merge')).values()].map((t) => t.dtype))).toEqual(new Set(['BF16']))
  })

  it('loads in transformers 5 / PEFT 0.21 and in transformers 4.38.2 / PEFT 0.9.0 / tokenizers 0.15.2 with tunekit\'s logits and greedy answers', async () => {
    const tokenizerDir = join(runs.tfjs.artifact('train'), 'tokenizer')
    const tok = await loadTokenizer(tokenizerDir)
    const jinja = readFileSync(join(runs.tfjs.artifact('merge'), 'chat_template.jinja'), 'utf8')
    const ids = encodePrompt(tok, renderChat(chatTemplate({ jinja }, { bosToken: tok.bos?.token ?? '', eosToken: tok.eos.token }), PROMPT, true))
    expect(ids[0]).toBe(tok.bos!.id)
    // the first training sample, and the conversation it was made from
    const shards = await readShards(runs.tfjs.artifact('tokenize'))
    const trained = [...sampleOf(shards, 0).ids]
    const conversation = JSON.parse(readFileSync(join(runs.tfjs.artifact('format'), 'conversations.jsonl'), 'utf8').split('\n')[0]!) as { messages: unknown[] }

    const own = new Map<string, Promise<{ logits: Float32Array; greedy: number[] }>>() // per backend and artifact, the same for both stacks
    const ownOf = (c: Case) => {
      const key = `${c.backend}-${c.artifact}`
      if (!own.has(key)) own.set(key, (async () => tunekitOwn(c.model ?? (await resolveModelDir(runs[c.backend].artifact('model'))), c.adapter, tokenizerDir, ids))())
      return own.get(key)!
    }
    const stacks = [{ stack: 'pinned', python: workerPython() }, { stack: 'old', python: compatPython() }].map(({ stack, python }) => {
      const dir = tempDir(`logits-${stack}`)
      const cases: Case[] = BACKENDS.flatMap((backend): Case[] => [
        { backend, artifact: 'merged', model: runs[backend].artifact('merge'), out: join(dir, `${backend}-merged.safetensors`) },
        { backend, artifact: 'adapter', adapter: runs[backend].artifact('train'), out: join(dir, `${backend}-adapter.safetensors`) },
      ])
      const rope = stack === 'old' ? { model: runs.torch.artifact('merge'), out: join(dir, 'rope-10000.safetensors') } : undefined
      // both stacks' processes run while tfjs computes tunekit's own logits in this one
      return { stack, cases, rope, report: loadAll(python, cases, ids, conversation.messages, rope) }
    })
    for (const c of stacks[0]!.cases) await ownOf(c)
    const matrix: string[] = []
    for (const { stack, cases, rope, report: pending } of stacks) {
      const report = await pending
      if (stack === 'old') expect([report.versions.transformers, report.versions.peft, report.versions.tokenizers]).toEqual(['4.38.2', '0.9.0', '0.15.2'])
      for (const [i, c] of cases.entries()) {
        const got = report.cases[i]!
        const mine = await ownOf(c)
        const diff = relDiff(await logitsOf(c.out), mine.logits)
        const scale = mine.logits.reduce((m, x) => Math.max(m, Math.abs(x)), 0)
        matrix.push(`${c.backend} × ${stack} (${report.versions.transformers}) × ${c.artifact}: max logit difference ${diff.toExponential(2)} (largest |logit| ${scale.toExponential(2)})`)
        expect(diff, matrix.at(-1)).toBeLessThan(1e-5)
        expect(got.greedy, matrix.at(-1)).toEqual(mine.greedy)
        // apply_chat_template gives the ids tunekit trains and prompts with, bos first
        expect(got.prompt).toEqual(ids)
        expect(got.sample).toEqual(trained)
      }
      if (rope) {
        // the check bites: transformers 4.38 with theta 10000 (what a config without rope_theta gets) is far off
        expect(report.ropeTheta?.read).toBe(500000)
        // (ten times the matrix's tolerance at least; measured 4.4e-4 on this tiny model)
        const off = relDiff(await logitsOf(rope.out), await logitsOf(cases[2]!.out))
        matrix.push(`torch merged in ${report.versions.transformers} with rope_theta 10000 instead: max logit difference ${off.toExponential(2)}`)
        expect(off).toBeGreaterThan(1e-4)
      }
    }
    console.log(matrix.join('\n'))
  })
})
