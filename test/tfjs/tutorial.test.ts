// The single-example test of the Gemma fine-tuning tutorial: teach a model one answer
// (user "微调测试" → assistant "我学会了"), check greedy generation says it exactly, merge, and
// check the merged model says it too. Real Mistral tokenizer with ChatML tokens, tiny model, CPU.
import { knownCheckpoints } from '@tunekit/core'
import { chatTemplate, loadTokenizer, renderChat, saveTokenizer, templateMarkers, tokenizeConversations, type TokenizedSample } from '@tunekit/data'
import { createRandomModel, initialAdapter, writeAdapter, type LoraSpec } from '@tunekit/hf'
import { cp, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createTfjsBackend } from '../../packages/tfjs/src/backend.ts'
import { beforeAll, describe, expect, it } from 'vitest'
import { generateIds } from '../../packages/tfjs/src/generate.ts'
import { createAdapter } from '../../packages/tfjs/src/methods/lora.ts'
import { adapterTensors } from '../../packages/tfjs/src/methods/state.ts'
import { mergeAdapter } from '../../packages/tfjs/src/merge.ts'
import { forward } from '../../packages/tfjs/src/model/decoder.ts'
import { baseWeightReader, loadModel } from '../../packages/tfjs/src/model/load.ts'
import { sequenceBatch } from '../../packages/tfjs/src/train/batch.ts'
import { trainLoop } from '../../packages/tfjs/src/train/loop.ts'
import { listSource } from '../../packages/tfjs/src/train/plan-source.ts'
import { maxAbs, maxAbsDiff, tmp, useEngine } from './helpers.ts'

beforeAll(async () => {
  await useEngine()
})

describe('single-example fine-tune (Gemma tutorial)', () => {
  it('learns "我学会了", and the merged model answers the same', async () => {
    const base = await tmp()
    const config = { ...knownCheckpoints['tunekit/tiny-mistral']!.config, numHiddenLayers: 2 }
    await createRandomModel(base, { family: 'mistral', config, seed: 3, tokenizer: 'mistral' })
    const tok = await loadTokenizer(base, { chatml: true })
    expect(tok.added.map((t) => t.id)).toEqual([32000, 32001])
    const template = chatTemplate('chatml', { bosToken: tok.bos?.token ?? '<s>', eosToken: tok.eos.token })
    const messages = [{ role: 'user' as const, content: '微调测试' }, { role: 'assistant' as const, content: '我学会了' }]
    const samples: TokenizedSample[] = []
    await tokenizeConversations([{ id: '0', messages }], tok, { template, maxLength: 64, truncation: 'truncate', mask: 'assistant', onError: 'fail', markers: templateMarkers.chatml }, (s) => {
      samples.push(s)
    })
    const sample = samples[0]!
    const answerStart = sample.mask.indexOf(1)
    const prompt = sample.ids.slice(0, answerStart)
    // The prompt rendered for generation tokenises to the training sample's prefix.
    expect(renderChat(template, messages.slice(0, 1), true)).toBe('<|im_start|>user\n微调测试<|im_end|>\n<|im_start|>assistant\n')
    expect(tok.decode(sample.ids.filter((_, i) => sample.mask[i] === 1))).toBe('我学会了<|im_end|>')

    const model = await loadModel(base, { vocabSize: tok.vocabSize })
    const spec: LoraSpec = { rank: 8, alpha: 16, targetModules: 'all-linear', modulesToSave: ['lm_head'], trainableTokens: { embed_tokens: tok.added.map((t) => t.id) } }
    const weights = await baseWeightReader(base, tok.vocabSize)
    const initial = await initialAdapter({ family: 'mistral', config: model.config, lora: spec, seed: 42, baseTensors: weights })
    await weights.close()
    const adapter = createAdapter(model, spec, initial)
    const batch = sequenceBatch(sample.ids, sample.mask)
    const answer = () => tok.decode(generateIds(model, adapter, prompt, { maxNewTokens: 12, eosIds: [tok.eos.id] }))

    // Train in rounds of 10 steps until greedy decoding gives the answer (at most 80 steps).
    let steps = 0
    let said = answer()
    const settings = {
      learningRate: 1e-2, lrScheduler: 'constant' as const, warmupSteps: 0, maxGradNorm: 1,
      optimizer: { kind: 'adamw' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
      seed: 42, gradientCheckpointing: false, logEvery: 10, evalEvery: 'never' as const, saveEvery: 'never' as const,
    }
    const losses: number[] = []
    while (said !== '我学会了' && steps < 80) {
      const r = await trainLoop({ model, adapter, source: listSource(Array.from({ length: 10 }, () => [batch])), settings })
      losses.push(...r.losses)
      steps += 10
      said = answer()
    }
    expect(said).toBe('我学会了')
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 3)

    // Merge: W' = W + (alpha/r)·B·A, lm_head replaced, the ChatML rows written in.
    const adapterDir = await tmp()
    await writeAdapter(adapterDir, { tensors: adapterTensors(adapter), loraConfig: spec, family: 'mistral', baseModel: base })
    const tokenizerDir = join(await tmp(), 'tokenizer')
    await saveTokenizer(tok, tokenizerDir, template.jinja)
    const merged = await tmp()
    await mergeAdapter({ baseDir: base, adapter: { tensors: adapterTensors(adapter), loraConfig: spec }, outDir: merged, tokenizerDir, chatTemplate: template.jinja, vocabSize: tok.vocabSize, maxShardSize: '4MB' })
    const mergedModel = await loadModel(merged)
    expect(mergedModel.config.vocabSize).toBe(32002)
    const adapted = forward(model, adapter, batch).dataSync()
    const folded = forward(mergedModel, undefined, batch).dataSync()
    expect(maxAbsDiff(adapted, folded) / maxAbs(adapted)).toBeLessThanOrEqual(1e-5)
    // The backend's text API (what `tunekit chat` calls): rendered prompt in, completion out.
    await cp(tokenizerDir, join(adapterDir, 'tokenizer'), { recursive: true })
    const backend = createTfjsBackend({ device: 'wasm' })
    const rendered = renderChat(template, messages.slice(0, 1), true)
    const streamed: string[] = []
    expect(await backend.generate({ model: merged, prompt: rendered, maxNewTokens: 12 }, (t) => streamed.push(t))).toBe('我学会了')
    expect(streamed.join('')).toBe('我学会了')
    expect(await backend.generate({ model: base, adapter: adapterDir, prompt: rendered, maxNewTokens: 12 })).toBe('我学会了')
    await backend.dispose?.()
    const mergedTok = await loadTokenizer(merged)
    expect(mergedTok.eos.token).toBe('<|im_end|>')
    // transformers' generate() stops at <|im_end|> too: config.json and generation_config.json say so
    for (const f of ['config.json', 'generation_config.json']) expect(JSON.parse(await readFile(join(merged, f), 'utf8')).eos_token_id).toBe(mergedTok.eos.id)
    expect(mergedTok.decode(generateIds(mergedModel, undefined, prompt, { maxNewTokens: 12, eosIds: [mergedTok.eos.id] }))).toBe('我学会了')
  })
})
