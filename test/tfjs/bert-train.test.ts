// Full fine-tuning of a BERT QA model on tfjs against transformers, step by step: tunekit's random
// bert folder and tokenizer, QA windows from the seeded FAQ (qaTrainFeatures), padded batches;
// loss, gradient norm and weights after AdamW steps equal torch's within 1e-4. One Python process.
import { execFileSync } from 'node:child_process'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { qaTrainFeatures, readQaExamples, wordPieceEncoder, writeWordPieceTokenizer, type WordPieceJson } from '@tunekit/data'
import { createRandomModel, randomModelConfig } from '@tunekit/hf'
import { faqParagraphs, faqSquadJson } from '@tunekit/recipes'
import { beforeAll, describe, expect, it } from 'vitest'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { loadEncoder } from '../../packages/tfjs/src/model/encoder-load.ts'
import { qaBatch } from '../../packages/tfjs/src/objectives/qa-batch.ts'
import { fullQaTrainer, qaTrainStep } from '../../packages/tfjs/src/objectives/qa-step.ts'
import { workerPython } from '../python.ts'
import { maxAbsDiff, tmp, useEngine } from './helpers.ts'

beforeAll(async () => {
  await useEngine()
})

describe('bert QA training on tfjs', () => {
  it("takes the steps transformers takes: loss, gradient norm and weights", async () => {
    const root = await tmp()
    const tokDir = join(root, 'tokenizer')
    const paragraphs = faqParagraphs({ seed: 9, paragraphs: 6 })
    await writeWordPieceTokenizer(tokDir, paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]), { vocabSize: 160 })
    const config = randomModelConfig({ id: 'tiny-bert', family: 'bert', random: { seed: 0, tokenizer: tokDir, config: { vocab_size: 160, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 } } })
    const dir = join(root, 'model')
    await createRandomModel(dir, { family: 'bert', config, seed: 3, tokenizer: tokDir })
    const encoder = wordPieceEncoder(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as WordPieceJson, 'tokenizer.json')
    // windows of 40 tokens: answers inside some windows and outside others (CLS labels), rows of unequal length
    const features = qaTrainFeatures(readQaExamples(faqSquadJson({ seed: 9, paragraphs: 2 }), 'faq.json').examples, encoder, { maxLength: 40, docStride: 12 })
    const batches = [0, 1, 2, 3].map((s) => qaBatch(features.slice(s * 4, s * 4 + 4), encoder.pad))
    expect(new Set(batches.flatMap((b) => [...b.attentionMask])).size).toBe(2) // some padding
    const settings = { lr: 2e-3, weightDecay: 0.01, maxGradNorm: 3 }
    const toRows = (a: Int32Array, seq: number) => Array.from({ length: a.length / seq }, (_, r) => [...a.slice(r * seq, (r + 1) * seq)])
    const request = { ...settings, batches: batches.map((b) => ({ ids: toRows(b.ids, b.seq), types: toRows(b.typeIds, b.seq), mask: toRows(b.attentionMask, b.seq), starts: [...b.starts], ends: [...b.ends] })) }
    const ref = JSON.parse(execFileSync(workerPython(), [join(import.meta.dirname, 'bert_train_reference.py'), dir], { input: JSON.stringify(request), encoding: 'utf8', env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error' } })) as { steps: Array<{ loss: number; gradNorm: number }>; weights: Record<string, number[]> }

    const trainer = fullQaTrainer(await loadEncoder(dir), { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: settings.weightDecay })
    const ours = batches.map((b) => qaTrainStep(trainer, b, settings.lr, settings.maxGradNorm))
    const lossDelta = Math.max(...ours.map((s, i) => Math.abs(s.loss - ref.steps[i]!.loss)))
    const normDelta = Math.max(...ours.map((s, i) => Math.abs(s.gradNorm - ref.steps[i]!.gradNorm) / ref.steps[i]!.gradNorm))
    const weightDelta = Math.max(...Object.entries(ref.weights).map(([name, w]) => maxAbsDiff(trainer.model.weights.get(name)!.dataSync(), w)))
    console.log(`bert QA steps: losses ${ours.map((s) => s.loss.toFixed(4)).join(', ')}; max |Δloss| ${lossDelta.toExponential(2)}, max rel Δ grad norm ${normDelta.toExponential(2)}, max |Δweight| ${weightDelta.toExponential(2)}`)
    expect(new Set(ref.steps.map((s) => s.gradNorm > settings.maxGradNorm)).size).toBe(2) // some steps clipped, some not…
    expect(ours[3]!.loss).toBeLessThan(ours[0]!.loss) // …and it learns
    expect(lossDelta).toBeLessThan(1e-4)
    expect(normDelta).toBeLessThan(1e-4)
    expect(weightDelta).toBeLessThan(1e-4)
    tf.dispose(trainer.variables)
    await rm(root, { recursive: true, force: true })
  })
})
