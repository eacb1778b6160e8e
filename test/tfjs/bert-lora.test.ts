// LoRA on the tfjs BERT encoder against PEFT on transformers' BertForQuestionAnswering, step by
// step: the same targets (query, value and every `dense`, by PEFT's suffix match), qa_outputs
// saved in full (modules_to_save), the same starting A and B (B non-zero, so A's
// gradient is too); loss, gradient norm and every trained tensor equal within 1e-4. One Python process.
import { execFileSync } from 'node:child_process'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { mulberry32 } from '@tunekit/core'
import { qaTrainFeatures, readQaExamples, wordPieceEncoder, writeWordPieceTokenizer, type WordPieceJson } from '@tunekit/data'
import { createRandomModel, randomModelConfig, type FloatTensor } from '@tunekit/hf'
import { faqParagraphs, faqSquadJson } from '@tunekit/recipes'
import { beforeAll, describe, expect, it } from 'vitest'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { loadEncoder } from '../../packages/tfjs/src/model/encoder-load.ts'
import { qaBatch } from '../../packages/tfjs/src/objectives/qa-batch.ts'
import { loraQaTrainer, qaTrainStep } from '../../packages/tfjs/src/objectives/qa-step.ts'
import { workerPython } from '../python.ts'
import { maxAbsDiff, tmp, useEngine } from './helpers.ts'

beforeAll(async () => {
  await useEngine()
})

describe('bert LoRA on tfjs', () => {
  it('takes the steps PEFT takes: loss, gradient norm and every trained tensor', async () => {
    const root = await tmp()
    const tokDir = join(root, 'tokenizer')
    const paragraphs = faqParagraphs({ seed: 8, paragraphs: 6 })
    await writeWordPieceTokenizer(tokDir, paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]), { vocabSize: 160 })
    const config = randomModelConfig({ id: 'tiny-bert', family: 'bert', random: { seed: 0, tokenizer: tokDir, config: { vocab_size: 160, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 } } })
    const dir = join(root, 'model')
    await createRandomModel(dir, { family: 'bert', config, seed: 4, tokenizer: tokDir })
    const encoder = wordPieceEncoder(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as WordPieceJson, 'tokenizer.json')
    const features = qaTrainFeatures(readQaExamples(faqSquadJson({ seed: 8, paragraphs: 2 }), 'faq.json').examples, encoder, { maxLength: 40, docStride: 12 })
    const batches = [0, 1, 2].map((s) => qaBatch(features.slice(s * 4, s * 4 + 4), encoder.pad))
    const spec = { rank: 4, alpha: 8, targetModules: ['query', 'value', 'dense'], modulesToSave: ['qa_outputs'] }
    const settings = { lr: 5e-3, weightDecay: 0.01, maxGradNorm: 1 }

    const model = await loadEncoder(dir)
    // seeded A and B in PEFT's keys; B non-zero so that A trains from the first step
    const rand = mulberry32(11)
    const initial = new Map<string, FloatTensor>()
    for (const name of model.weights.keys()) {
      const path = name.replace(/\.weight$/, '')
      if (!name.endsWith('.weight') || !spec.targetModules.some((m) => path.endsWith(`.${m}`))) continue
      const [out, inF] = model.weights.get(name)!.shape as [number, number]
      const draw = (n: number, std: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * std)
      initial.set(`base_model.model.${path}.lora_A.weight`, { shape: [spec.rank, inF], data: draw(spec.rank * inF, 0.2) })
      initial.set(`base_model.model.${path}.lora_B.weight`, { shape: [out, spec.rank], data: draw(out * spec.rank, 0.1) })
    }
    expect(initial.size).toBe(2 * 2 * 5) // 2 layers × (query, value, 3 dense) × (A, B)
    const toRows = (a: Int32Array, seq: number) => Array.from({ length: a.length / seq }, (_, r) => [...a.slice(r * seq, (r + 1) * seq)])
    const request = {
      ...settings, rank: spec.rank, alpha: spec.alpha, targets: spec.targetModules,
      initial: Object.fromEntries([...initial].map(([k, t]) => [k, [...t.data]])),
      batches: batches.map((b) => ({ ids: toRows(b.ids, b.seq), types: toRows(b.typeIds, b.seq), mask: toRows(b.attentionMask, b.seq), starts: [...b.starts], ends: [...b.ends] })),
    }
    const ref = JSON.parse(execFileSync(workerPython(), [join(import.meta.dirname, 'bert_lora_reference.py'), dir], { input: JSON.stringify(request), encoding: 'utf8', env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error' } })) as { steps: Array<{ loss: number; gradNorm: number }>; keys: string[]; tensors: Record<string, number[]> }

    const trainer = loraQaTrainer(model, spec, initial, { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: settings.weightDecay })
    expect([...trainer.names].sort()).toEqual(ref.keys) // the same trained tensors, by adapter_model.safetensors' keys
    const ours = batches.map((b) => qaTrainStep(trainer, b, settings.lr, settings.maxGradNorm))
    const lossDelta = Math.max(...ours.map((s, i) => Math.abs(s.loss - ref.steps[i]!.loss)))
    const normDelta = Math.max(...ours.map((s, i) => Math.abs(s.gradNorm - ref.steps[i]!.gradNorm) / ref.steps[i]!.gradNorm))
    // qa_outputs.bias has a gradient of exactly 0 (a softmax over positions ignores a shift of all
    // logits), so Adam divides float noise by float noise there in both frameworks: it moves by at
    // most lr per step, in no agreed direction. Every other tensor is compared.
    const bias = 'base_model.model.qa_outputs.modules_to_save.bias'
    const tensorDelta = Math.max(...trainer.names.map((k, i) => (k === bias ? 0 : maxAbsDiff(trainer.variables[i]!.dataSync(), ref.tensors[k]!))))
    expect(maxAbsDiff(trainer.variables[trainer.names.indexOf(bias)]!.dataSync(), ref.tensors[bias]!)).toBeLessThanOrEqual(2 * settings.lr * batches.length)
    console.log(`bert LoRA steps: losses ${ours.map((s) => s.loss.toFixed(4)).join(', ')}; max |Δloss| ${lossDelta.toExponential(2)}, max rel Δ grad norm ${normDelta.toExponential(2)}, max |Δtensor| ${tensorDelta.toExponential(2)}`)
    expect(lossDelta).toBeLessThan(1e-4)
    expect(normDelta).toBeLessThan(1e-4)
    expect(tensorDelta).toBeLessThan(1e-4)
    tf.dispose([...trainer.variables, ...model.weights.values()])
    await rm(root, { recursive: true, force: true })
  })
})
