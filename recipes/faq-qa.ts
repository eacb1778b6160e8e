/**
 * faq-qa: extractive question answering on a laptop CPU, as the help-line FAQ fine-tune of
 * `bert-base-uncased` does it (BertForQuestionAnswering on SQuAD-format data), scaled down.
 *
 * A tiny random BERT (2 layers, hidden 64, ≈ 0.1M parameters) with a WordPiece tokenizer built
 * from the training text learns to point at answers in help-line paragraphs tunekit generates
 * (`faqSquadJson`: opening hours, refund times, … several sentences a context, several phrasings
 * a question). `stage: { kind: 'qa' }` windows each context (data.maxLength, docStride), trains
 * start/end logits (full fine-tuning), and qa-eval scores held-out contexts, never seen in
 * training, with SQuAD v1.1 exact match and F1, before and after. The trained folder is in
 * transformers' layout: `pipeline('question-answering', model=<folder>)` loads it.
 *
 * Memory: < 1 GB.  Time: see docs/qa.md (a few minutes on 2 shared CPU cores, tfjs-wasm).
 * Run:    npx tsx recipes/faq-qa.ts            (`plan`, `graph`, `check` work too)
 * The same recipe on bert-base-uncased and a GPU: docs/qa.md.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { defineRecipe, inline, isEntryPoint, type QaEvalReport } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { writeWordPieceTokenizer } from '@tunekit/data'
import { faqSquadJson } from '@tunekit/recipes'

// 200 generated paragraphs (6 questions each); a tenth of the contexts are held out.
const faq = faqSquadJson({ seed: 0, paragraphs: 200 })

// The tokenizer is built once from the text (bert-base-uncased's shape: [PAD] [UNK] [CLS] [SEP] [MASK], ## pieces).
const tokenizer = resolve(import.meta.dirname, '..', 'runs', 'faq-qa-tokenizer')
if (!existsSync(join(tokenizer, 'tokenizer.json'))) {
  const texts = faq.data.flatMap((a) => a.paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]))
  await writeWordPieceTokenizer(tokenizer, texts, { vocabSize: 400, modelMaxLength: 128 })
}

export const recipe = defineRecipe({
  name: 'faq-qa',
  model: {
    id: 'tunekit/tiny-bert',
    family: 'bert',
    random: { seed: 0, tokenizer, config: { vocab_size: 400, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, max_position_embeddings: 128 } },
  },
  method: { kind: 'full' }, // a tiny model from scratch: every weight trains (LoRA: the `lora` key, as on bert-base)
  stage: { kind: 'qa', docStride: 32, maxAnswerLength: 30 },
  data: {
    source: inline(faq.data), // SQuAD articles ({ title, paragraphs }); a file('train-v1.1.json') reads the same
    format: 'squad',
    maxLength: 96, // window of [CLS] question [SEP] context [SEP]; longer contexts get overlapping windows
    split: { eval: 0.1, seed: 1 }, // held out by context
  },
  args: { batchSize: 16, epochs: 12, learningRate: 1e-3, saveEvery: 'epoch', logEvery: 20 },
  backend: 'tfjs',
})

await main(import.meta, recipe)

// After a run, the held-out scores qa-eval wrote (report.json in its cache folder, named in the run's graph).
const verb = process.argv[2]
const ran = (verb === undefined || verb === 'run') && !process.exitCode
if (ran && (await isEntryPoint(import.meta))) {
  const runDir = resolve(recipe.output.dir ?? `runs/${recipe.name}`)
  const graph = JSON.parse(readFileSync(join(runDir, 'graph.json'), 'utf8')) as { nodes: Array<{ id: string; key: string }> }
  const key = graph.nodes.find((n) => n.id === 'qa-eval')!.key
  const cacheDir = resolve(recipe.output.cacheDir)
  const report = JSON.parse(readFileSync(join(cacheDir, key, 'report.json'), 'utf8')) as QaEvalReport
  const pct = (x: number) => x.toFixed(1)
  console.log(`\nSQuAD v1.1 on ${report.questions} held-out questions (contexts never seen in training):`)
  console.log(`  before: EM ${pct(report.base.exactMatch)}  F1 ${pct(report.base.f1)}`)
  console.log(`  after:  EM ${pct(report.trained.exactMatch)}  F1 ${pct(report.trained.f1)}`)
}
