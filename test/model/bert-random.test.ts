// The bert family end to end without a tensor library: a random BertForQuestionAnswering folder
// written the way `model.random` writes one, which transformers loads with no missing or
// unexpected weight, the registry's parameter count, transformers' initialisation statistics, and
// the tokenizer beside it encoding a pair as tunekit's WordPiece encoder does. One Python process.
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { families, parseRecipe } from '@tunekit/core'
import { wordPieceEncoder, writeWordPieceTokenizer, type WordPieceJson } from '@tunekit/data'
import { createRandomModel, randomModelConfig } from '@tunekit/hf'
import { faqParagraphs } from '@tunekit/recipes'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { workerPython } from '../python.ts'
import { recipeError } from '../core/helpers.ts'

const PY = `
import json, sys, torch
from transformers import AutoTokenizer, BertForQuestionAnswering
d, q, c = sys.argv[1], sys.argv[2], sys.argv[3]
model, info = BertForQuestionAnswering.from_pretrained(d, output_loading_info=True)
w = model.bert.encoder.layer[0].attention.self.query.weight
tok = AutoTokenizer.from_pretrained(d)
enc = tok(q, c)
json.dump({
  "missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"]), "mismatched": sorted(str(m[0]) for m in info["mismatched_keys"]),
  "params": sum(p.numel() for p in model.parameters()),
  "std": w.std().item(), "ln": model.bert.embeddings.LayerNorm.weight.mean().item(), "bias": model.qa_outputs.bias.abs().max().item(), "padRow": model.bert.embeddings.word_embeddings.weight[0].abs().max().item(),
  "config": {k: getattr(model.config, k) for k in ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "hidden_act", "vocab_size"]},
  "tokenizer": type(tok).__name__, "ids": enc["input_ids"], "types": enc["token_type_ids"],
}, sys.stdout)
`

let root: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tunekit-bert-'))
})
afterAll(() => rm(root, { recursive: true, force: true }))

describe('the bert family', () => {
  it('writes a random BertForQuestionAnswering folder that transformers loads as it is', async () => {
    const paragraphs = faqParagraphs({ seed: 1, paragraphs: 6 })
    const tokDir = join(root, 'tokenizer')
    await writeWordPieceTokenizer(tokDir, paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]), { vocabSize: 200 })
    const config = randomModelConfig({
      id: 'tiny-bert', family: 'bert',
      random: { seed: 0, tokenizer: tokDir, config: { vocab_size: 200, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 } },
    })
    const dir = join(root, 'model')
    await createRandomModel(dir, { family: 'bert', config, seed: 0, tokenizer: tokDir })
    const [q, c] = [paragraphs[0]!.qas[0]!.question, paragraphs[0]!.context]
    const py = JSON.parse(execFileSync(workerPython(), ['-c', PY, dir, q, c], { encoding: 'utf8', env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error' } })) as Record<string, unknown>
    const ours = wordPieceEncoder(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as WordPieceJson, 'tokenizer.json').encodePair(q, c)
    expect(py).toMatchObject({
      missing: [], unexpected: [], mismatched: [],
      params: families.bert.totalParams(config),
      ln: 1, bias: 0, padRow: 0, // the [PAD] row of the word embeddings is zero, as nn.Embedding(padding_idx) leaves it
      config: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64, type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_act: 'gelu', vocab_size: 200 },
      tokenizer: 'BertTokenizer',
      ids: ours.ids, types: ours.typeIds,
    })
    expect(Math.abs((py.std as number) - 0.02)).toBeLessThan(0.002) // normal(0, initializer_range 0.02) over 32×32 draws
  })

  it('refuses a causal-LM stage on an encoder', () => {
    const e = recipeError({ model: { id: 'google-bert/bert-base-uncased', family: 'bert' }, data: { source: { kind: 'inline', records: [{ text: 'x' }] }, format: 'text' }, stage: { kind: 'pretrain' } })
    expect(e.issues.filter((i) => i.code === 'TK361').map((i) => `${i.code} ${i.message} → at ${i.path}\n  fix: ${i.hint}`).join('\n')).toMatchInlineSnapshot(`
      "TK361 model.family "bert" is an encoder (bidirectional, no lm_head), and stage "pretrain" trains a decoder's next-token predictions → at model.family
        fix: Pick a decoder family (llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, mixtral, yi, llava, qwen2_vl) for this stage, or train bert on extractive QA with stage: { kind: 'qa' } and data.format: 'squad'."
    `)
    expect(() => parseRecipe({ model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }, data: { source: { kind: 'inline', records: [{ text: 'x' }] }, format: 'text' }, stage: { kind: 'pretrain' } })).not.toThrow()
  })
})
