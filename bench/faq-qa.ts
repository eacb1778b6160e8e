// What a tiny random BERT learns of the seeded help-line FAQ on tfjs: SQuAD v1.1 EM and F1 on
// held-out paragraphs before and after full fine-tuning, with the wall time. The pieces of issue
// 17 wired by hand (recipes/faq-qa.ts runs the same through the graph's `qa` stage): the WordPiece tokenizer built from
// the training text, qaTrainFeatures, the tfjs encoder and QA step, the pipeline's post-processing,
// @tunekit/eval's squadV1. Prints a table and writes bench/results/faq-qa.json.
//   npx tsx bench/faq-qa.ts [epochs=8]
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { families, mulberry32 } from '@tunekit/core'
import { qaAnswers, qaTrainFeatures, readQaExamples, wordPieceEncoder, writeWordPieceTokenizer, type QaExample, type WordPieceEncoder, type WordPieceJson } from '@tunekit/data'
import { squadV1 } from '@tunekit/eval'
import { createRandomModel, randomModelConfig } from '@tunekit/hf'
import { faqSquadJson } from '@tunekit/recipes'
import { fullQaTrainer, loadEncoder, qaBatch, qaLogits, qaTrainStep, selectEngine, type EncoderModel } from '@tunekit/tfjs'
import * as tf from '@tensorflow/tfjs-core'

const epochs = Number(process.argv[2] ?? 8)
const windowing = { maxLength: 96, docStride: 32 }
const batchSize = 16
const learningRate = 1e-3

/** EM and F1 (percent) of the model's top answer to each question. */
function score(model: EncoderModel, encoder: WordPieceEncoder, examples: readonly QaExample[]): { exactMatch: number; f1: number } {
  const predictions = examples.map((e) => {
    const features = qaTrainFeatures([e], encoder, { ...windowing, stripQuestion: false })
    const logits = qaLogits(model, qaBatch(features, encoder.pad))
    const seq = logits.start.shape[1]
    const rows = (t: tf.Tensor2D) => {
      const d = t.dataSync()
      return features.map((f, i) => [...d.slice(i * seq, i * seq + f.ids.length)])
    }
    const [answer] = qaAnswers(e.context, features, rows(logits.start), rows(logits.end))
    tf.dispose([logits.start, logits.end])
    return answer?.answer ?? ''
  })
  return squadV1(predictions, examples.map((e) => e.answers.text))
}

async function main(): Promise<void> {
  const engine = await selectEngine('auto')
  const root = await mkdtemp(join(tmpdir(), 'tunekit-faq-qa-'))
  const train = readQaExamples(faqSquadJson({ seed: 0, paragraphs: 200 }), 'train').examples
  const held = readQaExamples(faqSquadJson({ seed: 1, paragraphs: 20 }), 'held-out').examples
  const tokDir = join(root, 'tokenizer')
  await writeWordPieceTokenizer(tokDir, train.flatMap((e) => [e.context, e.question]), { vocabSize: 400, modelMaxLength: 128 })
  const config = randomModelConfig({ id: 'tiny-bert', family: 'bert', random: { seed: 0, tokenizer: tokDir, config: { vocab_size: 400, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, max_position_embeddings: 128 } } })
  const dir = join(root, 'model')
  await createRandomModel(dir, { family: 'bert', config, seed: 0, tokenizer: tokDir })
  const encoder = wordPieceEncoder(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as WordPieceJson, 'tokenizer.json')
  const features = qaTrainFeatures(train, encoder, windowing)
  const trainer = fullQaTrainer(await loadEncoder(dir), { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 })
  const before = score(trainer.model, encoder, held)
  const started = Date.now()
  const rand = mulberry32(42)
  const steps = Math.ceil(features.length / batchSize) * epochs
  let loss = 0
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = features.map((_, i) => i).sort(() => rand() - 0.5)
    for (let s = 0; s < order.length; s += batchSize) {
      const done = epoch * Math.ceil(features.length / batchSize) + s / batchSize
      const lr = learningRate * (1 - done / steps) // linear decay, transformers' default schedule
      loss = qaTrainStep(trainer, qaBatch(order.slice(s, s + batchSize).map((i) => features[i]!), encoder.pad), lr, 1).loss
    }
    console.error(`epoch ${epoch + 1}/${epochs}: loss ${loss.toFixed(3)}`)
  }
  const seconds = (Date.now() - started) / 1000
  const after = score(trainer.model, encoder, held)
  const row = { engine: engine.engine, params: families.bert.totalParams(config), trainQuestions: train.length, windows: features.length, heldOut: held.length, epochs, steps, seconds, before, after }
  console.log('| engine | params | train questions (windows) | held-out | epochs (steps) | time | EM before | F1 before | EM after | F1 after |')
  console.log('|---|---|---|---|---|---|---|---|---|---|')
  console.log(`| ${row.engine} | ${(row.params / 1e3).toFixed(0)}k | ${row.trainQuestions} (${row.windows}) | ${row.heldOut} | ${epochs} (${steps}) | ${seconds.toFixed(0)} s | ${before.exactMatch.toFixed(1)} | ${before.f1.toFixed(1)} | ${after.exactMatch.toFixed(1)} | ${after.f1.toFixed(1)} |`)
  const out = resolve(import.meta.dirname, 'results')
  await mkdir(out, { recursive: true })
  await writeFile(join(out, 'faq-qa.json'), `${JSON.stringify({ measuredAt: new Date().toISOString().slice(0, 10), ...row }, null, 2)}\n`)
  tf.dispose(trainer.variables)
  await rm(root, { recursive: true, force: true })
}

await main()
