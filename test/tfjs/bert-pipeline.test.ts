// A BERT QA model fine-tuned on tfjs, saved in transformers' layout, answers as transformers'
// question-answering pipeline answers with it: tunekit's post-processing (n-best spans, maximum
// answer length, the null answer) over tfjs logits gives the pipeline's answers, offsets and
// scores. The pipeline was removed in transformers 5, so the old stack (transformers 4.38,
// TUNEKIT_COMPAT_PYTHON) loads the folder. One Python process.
import { execFileSync } from 'node:child_process'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { qaAnswers, qaTrainFeatures, readQaExamples, wordPieceEncoder, writeWordPieceTokenizer, type QaAnswer, type WordPieceJson } from '@tunekit/data'
import { createRandomModel, randomModelConfig } from '@tunekit/hf'
import { faqParagraphs, faqSquadJson } from '@tunekit/recipes'
import { beforeAll, describe, expect, it } from 'vitest'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { qaLogits } from '../../packages/tfjs/src/model/encoder.ts'
import { loadEncoder } from '../../packages/tfjs/src/model/encoder-load.ts'
import { saveEncoder } from '../../packages/tfjs/src/model/encoder-save.ts'
import { qaBatch } from '../../packages/tfjs/src/objectives/qa-batch.ts'
import { fullQaTrainer, qaTrainStep } from '../../packages/tfjs/src/objectives/qa-step.ts'
import { compatPython } from '../python.ts'
import { tmp, useEngine } from './helpers.ts'

const PY = `
import json, sys
from transformers import pipeline
qa = pipeline("question-answering", model=sys.argv[1], tokenizer=sys.argv[1], device="cpu")
out = []
for r in json.load(sys.stdin):
    a = qa(question=r["question"], context=r["context"], max_seq_len=48, doc_stride=16, max_answer_len=15, top_k=3, handle_impossible_answer=True)
    b = qa(question=r["question"], context=r["context"], max_seq_len=48, doc_stride=16, max_answer_len=15)
    out.append({"top3": a, "top1": [b]})
json.dump(out, sys.stdout)
`

beforeAll(async () => {
  await useEngine()
})

describe('the bert QA pipeline', () => {
  it("answers as transformers' question-answering pipeline does with the saved folder", async () => {
    const root = await tmp()
    const tokDir = join(root, 'tokenizer')
    const paragraphs = faqParagraphs({ seed: 4, paragraphs: 12 })
    await writeWordPieceTokenizer(tokDir, paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]), { vocabSize: 200, modelMaxLength: 64 })
    const config = randomModelConfig({ id: 'tiny-bert', family: 'bert', random: { seed: 0, tokenizer: tokDir, config: { vocab_size: 200, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 } } })
    const base = join(root, 'base')
    await createRandomModel(base, { family: 'bert', config, seed: 2, tokenizer: tokDir })
    const encoder = wordPieceEncoder(JSON.parse(await readFile(join(base, 'tokenizer.json'), 'utf8')) as WordPieceJson, 'tokenizer.json')
    // a short fine-tune, so the logits are a trained model's, not noise
    const train = qaTrainFeatures(readQaExamples(faqSquadJson({ seed: 4, paragraphs: 10 }), 'faq.json').examples, encoder, { maxLength: 48, docStride: 16 })
    const trainer = fullQaTrainer(await loadEncoder(base), { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 })
    const losses = Array.from({ length: 12 }, (_, s) => qaTrainStep(trainer, qaBatch(train.slice((s * 8) % (train.length - 8), ((s * 8) % (train.length - 8)) + 8), encoder.pad), 3e-3, 1).loss)
    expect(losses.at(-1)!).toBeLessThan(losses[0]!)
    const saved = join(root, 'trained')
    await saveEncoder(saved, trainer.model, tokDir)

    // held-out questions, one of them about a context longer than a window
    const held = readQaExamples(faqSquadJson({ seed: 77, paragraphs: 3 }), 'held.json').examples.filter((_, i) => i % 3 === 0)
    const ours = held.map((e) => {
      const features = qaTrainFeatures([e], encoder, { maxLength: 48, docStride: 16, stripQuestion: false })
      const logits = qaLogits(trainer.model, qaBatch(features.map((f) => ({ ...f, startPosition: 0, endPosition: 0 })), encoder.pad))
      const seq = logits.start.shape[1]
      const rows = (t: tf.Tensor2D) => { const d = t.dataSync(); return features.map((f, i) => [...d.slice(i * seq, i * seq + f.ids.length)]) }
      const [starts, ends] = [rows(logits.start), rows(logits.end)]
      tf.dispose([logits.start, logits.end])
      return { windows: features.length, top3: qaAnswers(e.context, features, starts, ends, { topK: 3, maxAnswerLength: 15, handleImpossible: true }), top1: qaAnswers(e.context, features, starts, ends) }
    })
    const py = JSON.parse(execFileSync(compatPython(), ['-c', PY, saved], { input: JSON.stringify(held.map((e) => ({ question: e.question, context: e.context }))), encoding: 'utf8', env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error' } })) as Array<{ top3: QaAnswer[]; top1: QaAnswer[] }>
    const strip = (as: QaAnswer[]) => as.map(({ answer, start, end }) => ({ answer, start, end }))
    let scoreDelta = 0
    ours.forEach((o, i) => {
      expect(strip(o.top3), held[i]!.id).toEqual(strip(py[i]!.top3))
      expect(strip(o.top1), held[i]!.id).toEqual(strip(py[i]!.top1))
      o.top3.forEach((a, k) => (scoreDelta = Math.max(scoreDelta, Math.abs(a.score - py[i]!.top3[k]!.score))))
    })
    console.log(`qa pipeline: ${held.length} questions (${ours.map((o) => o.windows).join(', ')} windows), answers equal, max |Δscore| ${scoreDelta.toExponential(2)}; first: ${JSON.stringify(ours[0]!.top1[0])}`)
    expect(scoreDelta).toBeLessThan(1e-4)
    expect(ours.some((o) => o.windows > 1)).toBe(true)
    tf.dispose(trainer.variables)
    await rm(root, { recursive: true, force: true })
  })
})
