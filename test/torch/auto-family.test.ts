// family 'auto' on the torch backend, on a tiny random GPT-NeoX (hidden 32, 2 layers, the 322-token
// test tokenizer) that auto_reference.py writes with transformers: a decoder tunekit has no family
// for, whose modules (query_key_value, dense_h_to_4h, embed_out) are no llama's. plan reads the
// module names and counts from the folder's safetensors headers (PEFT's count), 3 LoRA steps equal
// a plain transformers + PEFT loop on the same batches, and the merge loads in transformers with
// the logits of PEFT's merge_and_unload. One Python process serves the whole file.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compile, defineRecipe, file, formatIssue, inline, isTunekitError, modelConfigFromText, parseRecipe, plan, RecipeError, type Recipe } from '@tunekit/core'
import { readShards, sampleOf } from '@tunekit/data'
import { inspectModelFolder, readWeightShapes } from '@tunekit/hf'
import { createTorchBackend } from '@tunekit/torch'
import { tinyTokenizer } from '../data/helpers.ts'
import { python, repoRoot, runRecipe, tempDir, type Run } from './helpers.ts'
import { maxRel, relDiff } from './logits.ts'

const STEPS = 3
const BATCH = 2
const LR = 1e-2
const SEED = 7
const TARGETS = ['query_key_value', 'dense_h_to_4h']
const SAVE = ['final_layer_norm']
const IDS = [0, 57, 112, 9, 201, 33, 150, 77, 4, 1]

/** The reference process: one JSON request a line, one JSON answer a line. */
function startReference(): { ask: <T>(req: Record<string, unknown>) => Promise<T>; child: ChildProcessWithoutNullStreams } {
  const child = spawn(python, [join(import.meta.dirname, 'auto_reference.py')], { env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' } })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const ask = async <T,>(req: Record<string, unknown>): Promise<T> => {
    child.stdin.write(`${JSON.stringify(req)}\n`)
    const next = await lines.next()
    if (next.done) throw new Error(`auto_reference.py ended:\n${stderr.slice(-3000)}`)
    return JSON.parse(next.value) as T
  }
  return { ask, child }
}

const recipe = (dir: string, tokens: string, lora: { targetModules?: string[]; modulesToSave?: string[] } = {}): Recipe<'auto'> =>
  defineRecipe<'auto'>({
    name: 'tiny-gpt-neox',
    model: { id: 'tunekit/tiny-gpt-neox', family: 'auto', path: dir, dtype: 'float32' },
    data: { source: file(tokens), format: 'tokens', maxLength: 64, split: { eval: 0 } },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: TARGETS, modulesToSave: SAVE, ...lora },
    args: { batchSize: BATCH, maxSteps: STEPS, learningRate: LR, lrScheduler: 'constant', shuffle: false, logEvery: 1, evalEvery: 'never', saveEvery: 'never', seed: SEED },
    backend: 'torch',
    device: 'cpu',
    output: { merge: true },
  })

const planned = async (r: Recipe, cacheDir: string) => plan(await compile(r, { baseDir: repoRoot, cacheDir }), { cacheDir, inspectModel: inspectModelFolder, weightShapes: readWeightShapes })

describe("family 'auto' on torch: a tiny GPT-NeoX", { timeout: 600_000 }, () => {
  const work = tempDir('auto')
  const dir = join(work, 'gpt-neox')
  const tokens = join(work, 'tokens.jsonl')
  let reference: ReturnType<typeof startReference>
  let modules: string[]
  let expected: { trainable: number; all: number; losses: number[]; merged: number[] }
  let run: Run
  // one backend, so one worker process serves the file's runs
  const backend = createTorchBackend({ python })
  afterAll(() => {
    reference?.child.stdin.end()
    rmSync(work, { recursive: true, force: true })
  })

  beforeAll(async () => {
    reference = startReference()
    ;({ modules } = await reference.ask<{ modules: string[] }>({ op: 'write', dir, tokenizer: tinyTokenizer, tokens, records: STEPS * BATCH, seed: 3 }))
    // tunekit trains while the reference does (two processes)
    const request = { op: 'reference', dir, tokens, batch: BATCH, steps: STEPS, lr: LR, seed: SEED, rank: 4, alpha: 8, targets: TARGETS, save: SAVE, ids: IDS }
    ;[expected, run] = await Promise.all([reference.ask<typeof expected>(request), runRecipe(recipe(dir, tokens), backend)])
  })

  it("plan counts from the folder's weights: PEFT's trainable and total parameters", async () => {
    const p = await planned(recipe(dir, tokens), run.cacheDir)
    expect(p.issues.filter((i) => i.severity === 'error')).toEqual([])
    const params = 'params' in p.model ? p.model.params : undefined
    console.log(`trainable: plan ${params?.trainable}, PEFT ${expected.trainable}; all: plan ${params?.total}, PEFT ${expected.all}`)
    // 2 layers × (4·(32 + 96) + 4·(32 + 64)) + final_layer_norm's copy (weight and bias, 2 × 32)
    expect(params?.trainable).toBe(1856)
    expect(params?.trainable).toBe(expected.trainable)
    expect(params?.total).toBe(expected.all)
  })

  it('3 LoRA steps equal the transformers + PEFT loop on the same batches (1e-5)', () => {
    const got = run.events.flatMap((e) => (e.type === 'step' ? [e.loss] : []))
    expect(got).toHaveLength(STEPS)
    const rel = maxRel(got, expected.losses)
    console.log(`auto losses tunekit ${got.join(', ')}\n  PEFT ${expected.losses.join(', ')}\n  max relative difference ${rel.toExponential(2)}`)
    expect(rel).toBeLessThan(1e-5)
    // the adapter names the folder's modules, as PEFT's own save_pretrained does
    const config = JSON.parse(readFileSync(join(run.artifact('train'), 'adapter_config.json'), 'utf8')) as Record<string, unknown>
    expect([config.target_modules, config.modules_to_save]).toEqual([TARGETS, SAVE])
  })

  it("the merged folder loads in transformers with the logits of PEFT's merge_and_unload (1e-5)", async () => {
    const { logits } = await reference.ask<{ logits: number[] }>({ op: 'logits', dir: run.artifact('merge'), ids: IDS })
    const diff = relDiff(Float32Array.from(logits), Float32Array.from(expected.merged))
    console.log(`merged logits, tunekit vs PEFT: ${diff.toExponential(2)}`)
    expect(diff).toBeLessThan(1e-5)
    // config.json is the checkpoint's own (its partial rotary_parameters too), bar the fields tunekit derives
    const json = (folder: string): Record<string, unknown> => JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as Record<string, unknown>
    const [base, merged] = [json(dir), json(run.artifact('merge'))]
    const derived = ['dtype', 'torch_dtype', 'transformers_version', 'pad_token_id']
    const kept = (c: Record<string, unknown>) => Object.fromEntries(Object.entries(c).filter(([k]) => !derived.includes(k)))
    expect(kept(merged)).toEqual(kept(base))
    expect([merged.model_type, merged.architectures, merged.dtype]).toEqual(['gpt_neox', ['GPTNeoXForCausalLM'], 'float32'])
  })

  it('full fine-tuning: plan counts every tensor of the folder, and 3 steps equal a plain transformers loop (1e-5)', async () => {
    const fullRecipe = defineRecipe<'auto'>({
      name: 'tiny-gpt-neox-full',
      model: { id: 'tunekit/tiny-gpt-neox', family: 'auto', path: dir, dtype: 'float32' },
      data: { source: file(tokens), format: 'tokens', maxLength: 64, split: { eval: 0 } },
      method: { kind: 'full' },
      args: { batchSize: BATCH, maxSteps: STEPS, learningRate: LR, lrScheduler: 'constant', shuffle: false, logEvery: 1, evalEvery: 'never', saveEvery: 'never', seed: SEED },
      backend: 'torch',
      device: 'cpu',
    })
    const [ref, fullRun] = await Promise.all([
      reference.ask<{ trainable: number; losses: number[] }>({ op: 'full', dir, tokens, batch: BATCH, steps: STEPS, lr: LR }),
      runRecipe(fullRecipe, backend, { until: 'train' }),
    ])
    const p = await planned(fullRecipe, fullRun.cacheDir)
    expect('params' in p.model ? p.model.params.trainable : NaN).toBe(ref.trainable)
    const got = fullRun.events.flatMap((e) => (e.type === 'step' ? [e.loss] : []))
    const rel = maxRel(got, ref.losses)
    console.log(`auto full: ${ref.trainable} trainable; losses max relative difference ${rel.toExponential(2)}`)
    expect(rel).toBeLessThan(1e-5)
  })

  it("plan lists the folder's module names for a name that is not there, with the closest; a saved module's stored name is a warning", async () => {
    expect(modules).toContain('query_key_value')
    const p = await planned(recipe(dir, tokens, { targetModules: ['query_key_val', 'dense'], modulesToSave: ['lm_head'] }), tempDir('auto-cache'))
    expect(p.issues.map(formatIssue).join('\n').replaceAll(dir, '$DIR')).toMatchInlineSnapshot(`
      "✖ TK258 "query_key_val" names no module of $DIR (model_type "gpt_neox", family 'auto'); the linear modules of its decoder layers' weights are dense, query_key_value, dense_4h_to_h, dense_h_to_4h → at lora.targetModules[0]
        value: "query_key_val"
        fix: Did you mean "query_key_value"? Use the module names listed (PEFT matches a name against the end of each module path).
      ⚠ TK258 "lm_head" names no module of $DIR (model_type "gpt_neox", family 'auto'); the modules of its weights outside the decoder layers (as stored; the worker checks the loaded names) are embed_out, embed_in, final_layer_norm → at lora.modulesToSave[0]
        value: "lm_head"
        fix: Use the module names listed (PEFT matches a name against the end of each module path)."
    `)
  })

  it("the worker refuses a saved module the loaded model lacks (gpt_neox's stored embed_out loads as lm_head), with the loaded names", async () => {
    const err = await runRecipe(recipe(dir, tokens, { modulesToSave: ['embed_out'] }), backend, { until: 'train' }).catch((e: unknown) => e)
    expect(isTunekitError(err) ? err.issues.map(formatIssue).join('\n') : err).toMatchInlineSnapshot(`
      "✖ TK258 "embed_out" names no module of tunekit/tiny-gpt-neox (model_type "gpt_neox", family 'auto'); the modules outside the decoder layers of the model transformers loads are embed_in, final_layer_norm, lm_head → at lora.modulesToSave
        value: "embed_out"
        fix: Use the module names listed (PEFT matches a name against the end of each module path)."
    `)
  })

  it("chat data without data.template gets the checkpoint's own chat_template, rendered to transformers' ids; none there is TK269", async () => {
    const chatDir = join(work, 'gpt-neox-chat')
    cpSync(dir, chatDir, { recursive: true })
    const own = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] }}{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(chatDir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: own }))
    const chat = (folder: string): Recipe<'auto'> => defineRecipe<'auto'>({
      name: 'tiny-gpt-neox-chat',
      model: { id: 'tunekit/tiny-gpt-neox', family: 'auto', path: folder, dtype: 'float32' },
      data: { source: inline([{ prompt: 'two plus two?', response: 'four' }]), format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 0 } },
      lora: { targetModules: TARGETS },
      backend: 'torch',
    })
    expect(chat(chatDir).data.template).toBe('model')
    const cacheDir = tempDir('auto-chat')
    expect((await planned(chat(chatDir), cacheDir)).issues.filter((i) => i.code === 'TK269')).toEqual([])
    const tokenized = await runRecipe(chat(chatDir), backend, { until: 'tokenize', cacheDir })
    const ids = Array.from(sampleOf(await readShards(tokenized.artifact('tokenize')), 0).ids)
    // the saved tokenizer (bos in front of the template, as training put it) gives the trained ids in transformers
    const messages = [{ role: 'user', content: 'two plus two?' }, { role: 'assistant', content: 'four' }]
    const hf = await reference.ask<{ ids: number[] }>({ op: 'chat', dir: join(tokenized.artifact('tokenize'), 'tokenizer'), messages })
    expect(ids).toEqual(hf.ids)
    const bare = await reference.ask<{ ids: number[] }>({ op: 'chat', dir: chatDir, messages })
    expect(ids).toEqual([0, ...bare.ids])
    // the test tokenizer's own tokenizer_config.json has no chat_template
    const missing = (await planned(chat(dir), tempDir('auto-chat'))).issues.filter((i) => i.code === 'TK269')
    // a run that skipped the plan stops at the tokenize node with the same error
    const err = await runRecipe(chat(dir), backend, { until: 'tokenize' }).catch((e: unknown) => e)
    expect(isTunekitError(err) ? err.issues.map((i) => i.code) : err).toEqual(['TK269'])
    expect(missing.map(formatIssue).join('\n').replaceAll(dir, '$DIR')).toMatchInlineSnapshot(`
      "✖ TK269 $DIR/tokenizer_config.json has no chat_template, and family 'auto' renders chat data with the checkpoint's own template unless data.template names one → at data.template
        value: "model"
        fix: Set data.template (e.g. 'chatml', or { jinja: '…' }), or add the checkpoint's chat_template to tokenizer_config.json."
    `)
  })

  it("without family 'auto' the folder is TK344, whose fix names 'auto'", () => {
    const file = join(dir, 'config.json')
    const read = modelConfigFromText(file, readFileSync(file, 'utf8'), 'llama')
    expect(read.ok ? [] : read.issues.map(formatIssue).join('\n').replaceAll(dir, '$DIR')).toMatchInlineSnapshot(`
      "✖ TK344 $DIR/config.json: model_type "gpt_neox" is not an architecture tunekit can load; known: llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, mixtral, yi, bert, llava, qwen2_vl → at $DIR/config.json: model_type
        value: "gpt_neox"
        fix: Use a checkpoint of a known family (config.json "model_type"), or train it as it is with model.family: 'auto' and backend: 'torch' (any decoder transformers loads without remote code), or restore its config.json if it was edited."
    `)
  })
})

describe("family 'auto': what check refuses", () => {
  const issues = (over: Record<string, unknown>): string => {
    try {
      parseRecipe({ model: { id: 'EleutherAI/pythia-70m', family: 'auto' }, data: { source: { kind: 'inline', records: [{ prompt: 'a', response: 'b' }] }, format: 'alpaca' }, backend: 'torch', lora: { targetModules: ['query_key_value'] }, ...over })
      return 'no error'
    } catch (e) {
      if (!(e instanceof RecipeError)) throw e
      return e.issues.map(formatIssue).join('\n')
    }
  }

  it('the tfjs backend, a random model, module names left to a table, and methods or stages that read a known layout', () => {
    expect(issues({ backend: 'tfjs' })).toMatchInlineSnapshot(`
      "✖ TK259 model.family 'auto' loads the checkpoint with transformers' AutoModelForCausalLM, which only the torch backend has; backend "tfjs" has a model of its own per family → at backend
        value: "tfjs"
        fix: Set backend: 'torch', or use a family tunekit runs natively on both backends (llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, mixtral, yi)."
    `)
    expect(issues({ backend: undefined, lora: { targetModules: 'all-linear' } })).toMatchInlineSnapshot(`
      "✖ TK259 model.family 'auto' loads the checkpoint with transformers' AutoModelForCausalLM, which only the torch backend has; backend "auto" picks tfjs on a machine without CUDA → at backend
        value: "auto"
        fix: Set backend: 'torch', or use a family tunekit runs natively on both backends (llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, mixtral, yi).
      ✖ TK266 targetModules "all-linear" with family 'auto': tunekit has no table of this architecture's linear modules, so it cannot say which to adapt before the folder is read → at lora.targetModules
        value: "all-linear"
        fix: List the module names, e.g. targetModules: ['query_key_value', 'dense'] for gpt_neox; \`tunekit plan\` lists the folder's names when one does not fit."
    `)
    expect(issues({ lora: undefined, model: { id: 'x', family: 'auto', random: { config: {} } } })).toMatchInlineSnapshot(`
      "✖ TK267 model.random with family 'auto': a random model is written from a family's own layout, and 'auto' has none until a folder's weights are read → at model.random
        value: {"seed":0,"config":{},"tokenizer":"mistral"}
        fix: Point model.path (or model.id in the Hub cache) at a transformers model folder (save_pretrained of a random model works), or use a native family with model.random.
      ✖ TK266 targetModules left out (PEFT's default table) with family 'auto': tunekit has no table of this architecture's linear modules, so it cannot say which to adapt before the folder is read → at lora.targetModules
        value: null
        fix: List the module names, e.g. targetModules: ['query_key_value', 'dense'] for gpt_neox; \`tunekit plan\` lists the folder's names when one does not fit."
    `)
    expect(issues({ lora: undefined, method: { kind: 'freeze' }, stage: { kind: 'dpo' } })).toMatchInlineSnapshot(`
      "✖ TK268 method 'freeze' with family 'auto': it reads the modules of a known layout (embed_tokens, model.layers.<i>.…), which an 'auto' checkpoint need not have → at method.kind
        value: "freeze"
        fix: Use LoRA (lora) or full fine-tuning (method: { kind: 'full' }) with stage sft or pretrain, or a native family of the checkpoint.
      ✖ TK268 stage 'dpo' with family 'auto': it reads the modules of a known layout (embed_tokens, model.layers.<i>.…), which an 'auto' checkpoint need not have → at stage.kind
        value: "dpo"
        fix: Use LoRA (lora) or full fine-tuning (method: { kind: 'full' }) with stage sft or pretrain, or a native family of the checkpoint."
    `)
  })

  it("a checkpoint id tunekit does not know, with model.family left out: the fix points at 'auto'", () => {
    expect(issues({ model: { id: 'EleutherAI/pythia-70m' } })).toMatchInlineSnapshot(`
      "✖ TK202 model.family is not given (tunekit does not guess it from model.id); known families: llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, mixtral, yi, bert, llava, qwen2_vl, auto → at model.family
        value: undefined
        fix: Set model.family to the architecture of the checkpoint (config.json "model_type"); for a decoder tunekit has no family for, model.family: 'auto' with backend: 'torch' trains any architecture transformers loads without remote code."
    `)
  })
})
