// stage { kind: 'qa' } end to end through the real pipeline on tfjs: a tiny random BERT (2
// layers, hidden 32) and the seeded FAQ generator's SQuAD JSON → source → qa-features (windows,
// held-out contexts) → qa-train (full fine-tuning, and LoRA merged) → qa-eval (SQuAD EM/F1 of the
// base and trained models); the trained folder in transformers' layout; the catalog's checks.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { compile, defineRecipe, file, parseRecipe, runGraph, type QaEvalReport, type Recipe, type RunEvent } from '@tunekit/core'
import { dataExecutors, writeWordPieceTokenizer, type QaExample, type QaFeaturesReport } from '@tunekit/data'
import { squadV1 } from '@tunekit/eval'
import { modelExecutor } from '@tunekit/hf'
import { faqParagraphs, faqSquadJson } from '@tunekit/recipes'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTfjsBackend } from '../../packages/tfjs/src/backend.ts'
import { tmp, useEngine } from './helpers.ts'

let root: string
let tokenizer: string
beforeAll(async () => {
  await useEngine()
  root = await tmp()
  tokenizer = join(root, 'tokenizer')
  const paragraphs = faqParagraphs({ seed: 3, paragraphs: 8 })
  await writeWordPieceTokenizer(tokenizer, paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]), { vocabSize: 200, modelMaxLength: 64 })
  await writeFile(join(root, 'faq.json'), JSON.stringify(faqSquadJson({ seed: 3, paragraphs: 8 })))
})

const bert = () => ({
  id: 'tiny-bert', family: 'bert' as const,
  random: { seed: 0, tokenizer, config: { vocab_size: 200, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 } },
})

const qaData = (epochs: number, learningRate = 2e-3) => ({
  stage: { kind: 'qa' as const, docStride: 16 },
  data: { source: file(join(root, 'faq.json')), format: 'squad' as const, maxLength: 48, split: { eval: 0.25, seed: 1 } },
  args: { batchSize: 8, epochs, learningRate, saveEvery: 2 },
})

async function run(recipe: Recipe<'bert'>, o: { dir?: string; signal?: AbortSignal; onEvent?: (e: RunEvent) => void } = {}) {
  const name = o.dir ?? recipe.name
  const dirs = { cacheDir: join(root, name, 'cache'), runDir: join(root, name, 'run'), baseDir: root }
  const graph = await compile(recipe, dirs)
  const backend = createTfjsBackend({ device: 'wasm' })
  const result = await runGraph(graph, { recipe, ...dirs, executors: { ...dataExecutors, model: modelExecutor, ...backend.executors }, ...(o.signal ? { signal: o.signal } : {}), ...(o.onEvent ? { onEvent: o.onEvent } : {}) })
  const dir = (id: string) => join(dirs.cacheDir, graph.nodes.find((n) => n.id === id)!.key)
  return { graph, result, dir }
}

describe("stage { kind: 'qa' } on tfjs", () => {
  it('trains a tiny BERT on SQuAD records and scores held-out questions with the base and the trained model', async () => {
    const { graph, result, dir } = await run(defineRecipe({ name: 'qa-full', model: bert(), method: { kind: 'full' }, ...qaData(3) }))
    expect(graph.nodes.map((n) => `${n.id}←${n.inputs.join(',')}`)).toEqual(['model←', 'source←', 'qa-features←source,model', 'qa-train←model,qa-features', 'qa-eval←model,qa-features,qa-train'])
    expect(result.nodes.map((n) => n.status)).toEqual(Array(5).fill('ran'))
    const features = JSON.parse(await readFile(join(dir('qa-features'), 'report.json'), 'utf8')) as QaFeaturesReport
    expect(features).toMatchObject({ version: '1.1', maxLength: 48, docStride: 16 })
    expect(features.evalQuestions).toBeGreaterThanOrEqual(Math.round(0.25 * features.questions))
    expect(features.trainWindows).toBeGreaterThan(features.trainQuestions) // contexts longer than a window give several
    const config = JSON.parse(await readFile(join(dir('qa-train'), 'config.json'), 'utf8')) as { architectures: string[] }
    expect(config.architectures).toEqual(['BertForQuestionAnswering'])
    const state = JSON.parse(await readFile(join(dir('qa-train'), 'trainer_state.json'), 'utf8')) as { step: number; lossHistory: number[] }
    expect(state.step).toBe(state.lossHistory.length)
    expect(state.lossHistory.at(-1)!).toBeLessThan(state.lossHistory[0]!)
    const report = JSON.parse(await readFile(join(dir('qa-eval'), 'report.json'), 'utf8')) as QaEvalReport
    expect(report.metric).toBe('squad')
    expect(report.questions).toBe(features.evalQuestions)
    // The scores are SQuAD v1.1's over the written predictions, which are spans of their contexts (quality: recipes/faq-qa.ts).
    const held = (await readFile(join(dir('qa-features'), 'eval', 'examples.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as QaExample)
    const predictions = (await readFile(join(dir('qa-eval'), 'predictions.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; answer: string; base: string })
    expect(predictions.map((p) => p.id)).toEqual(held.map((e) => e.id))
    predictions.forEach((p, i) => expect(held[i]!.context).toContain(p.answer))
    expect(report.trained).toEqual(squadV1(predictions.map((p) => p.answer), held.map((e) => e.answers.text)))
    expect(report.base).toEqual(squadV1(predictions.map((p) => p.base), held.map((e) => e.answers.text)))
    expect(predictions.some((p) => p.answer !== p.base)).toBe(true)
  })

  it('trains LoRA (qa_outputs saved in full), writes the PEFT adapter beside the merged model, and resumes an interrupted run from its checkpoint', async () => {
    const recipe = defineRecipe({ name: 'qa-lora', model: bert(), lora: { rank: 4, alpha: 8, targetModules: ['query', 'value'] }, ...qaData(1) })
    const { result, dir } = await run(recipe)
    expect(result.nodes.map((n) => n.status)).toEqual(Array(5).fill('ran'))
    const adapter = JSON.parse(await readFile(join(dir('qa-train'), 'adapter', 'adapter_config.json'), 'utf8')) as { r: number; target_modules: string[]; modules_to_save: string[] }
    expect(adapter).toMatchObject({ r: 4, modules_to_save: ['qa_outputs'] })
    expect([...adapter.target_modules].sort()).toEqual(['query', 'value'])
    const config = JSON.parse(await readFile(join(dir('qa-train'), 'config.json'), 'utf8')) as { architectures: string[] }
    expect(config.architectures).toEqual(['BertForQuestionAnswering'])
    const whole = JSON.parse(await readFile(join(dir('qa-train'), 'trainer_state.json'), 'utf8')) as { lossHistory: number[] }

    // Interrupted at its first checkpoint (step 2), then run again: the same losses, step for step.
    const stop = new AbortController()
    const logs: string[] = []
    const onEvent = (e: RunEvent) => {
      if (e.type === 'checkpoint' && e.node === 'qa-train') stop.abort()
      if (e.type === 'log' && e.node === 'qa-train') logs.push(e.message)
    }
    await expect(run(recipe, { dir: 'qa-lora-resumed', signal: stop.signal, onEvent })).rejects.toThrow(/TK/)
    const resumed = await run(recipe, { dir: 'qa-lora-resumed', onEvent })
    expect(logs.some((m) => /resuming at step [2-9]/.test(m))).toBe(true)
    const state = JSON.parse(await readFile(join(resumed.dir('qa-train'), 'trainer_state.json'), 'utf8')) as { lossHistory: number[] }
    expect(state.lossHistory.length).toBe(whole.lossHistory.length)
    state.lossHistory.forEach((l, i) => expect(Math.abs(l - whole.lossHistory[i]!)).toBeLessThan(1e-5))
  })
})

describe('qa stage checks', () => {
  const squad = { source: file('faq.json'), format: 'squad' as const }
  it('refuses a decoder, other data, a method it does not train and decoder outputs, all at once', () => {
    expect(() =>
      parseRecipe({ model: { id: 'tunekit/tiny-mistral', family: 'mistral' }, stage: { kind: 'qa' }, data: { source: file('a.jsonl'), format: 'alpaca' }, method: { kind: 'freeze', trainableLayers: 1 }, output: { samples: ['hi'] }, backend: 'torch' }),
    ).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 4 problems
      ✖ TK362 stage 'qa' trains a start/end span head on a bidirectional encoder, but model.family "mistral" is a decoder → at model.family
        value: "mistral"
        fix: Use an encoder family (bert), e.g. bert-base-uncased with family 'bert', or train the decoder with stage { kind: 'sft' }.
      ✖ TK363 stage 'qa' reads questions, contexts and answer spans, but data.format is "alpaca" → at data.format
        value: "alpaca"
        fix: Set data.format: 'squad' (SQuAD v1.1/v2.0 JSON, or flat records with id, question, context and answers { text, answer_start }).
      ✖ TK365 stage 'qa' trains every weight (method full) or LoRA adapters with qa_outputs saved, not method 'freeze' → at method.kind
        value: "freeze"
        fix: Use method: { kind: 'full' } or plain LoRA (no quantisation, DoRA, trainable tokens or init other than the default).
      ✖ TK366 output.samples needs a causal LM (it generates text or exports for llama.cpp), and stage 'qa' trains a span-extraction model → at output.samples
        value: ["hi"]
        fix: Remove output.samples; the qa stage writes the trained model in transformers' layout (BertForQuestionAnswering) and scores held-out questions itself (qa-eval's report.json).]
    `)
  })
  it('refuses DoRA and a source split on qa, squad data on sft, and an encoder on sft', () => {
    expect(() => parseRecipe({ model: bert(), stage: { kind: 'qa' }, data: { ...squad, split: { evalSplit: 'validation' } }, lora: { useDora: true } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 4 problems
      ✖ TK365 stage 'qa' trains every weight (method full) or LoRA adapters with qa_outputs saved, not DoRA → at lora.useDora
        value: true
        fix: Use method: { kind: 'full' } or plain LoRA (no quantisation, DoRA, trainable tokens or init other than the default).
      ✖ TK368 stage 'qa' holds out whole contexts of the training records (data.split.eval), and does not read the source's "validation" split yet → at data.split.evalSplit
        value: "validation"
        fix: Remove data.split.evalSplit and set data.split.eval (a share or a count of questions), or merge the held-out file into the records.
      ✖ TK204 data.maxLength is 1024 but tiny-bert was trained with a context of 64 tokens → at data.maxLength
        value: 1024
        fix: Set data.maxLength to at most 64.
      ✖ TK208 data.split.evalSplit names a split of a Hub dataset, but data.source is a file source → at data.split.evalSplit
        value: "validation"
        fix: Remove evalSplit to carve the eval set out of the records (data.split.eval), or use hub(…) as the source.]
    `)
    expect(() => parseRecipe({ model: bert(), data: squad })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 3 problems
      ✖ TK364 data.format 'squad' holds answer spans for extractive QA, but stage "sft" trains next-token predictions → at data.format
        value: "squad"
        fix: Set stage: { kind: 'qa' } with an encoder model (family 'bert'), or give conversations in another data.format.
      ✖ TK361 model.family "bert" is an encoder (bidirectional, no lm_head), and stage "sft" trains a decoder's next-token predictions → at model.family
        value: "bert"
        fix: Pick a decoder family (llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, mixtral, yi, llava, qwen2_vl) for this stage, or train bert on extractive QA with stage: { kind: 'qa' } and data.format: 'squad'.
      ✖ TK204 data.maxLength is 1024 but tiny-bert was trained with a context of 64 tokens → at data.maxLength
        value: 1024
        fix: Set data.maxLength to at most 64.]
    `)
  })
})
