import type { ModelConfig } from '@tunekit/core'
import { familyOf, magnitudeKey, openModelWeights, parseAdapterKey, rowNorms, readModelConfig, replaceTrained, storedFloatDtype, tiedAfterMerge, writeMergedMetadata, writeModelWeights, moduleWeightName, type FloatTensor, type LoraSpec } from '@tunekit/hf'
import { loadTokenizer } from '@tunekit/data'
import { tf } from './engine.ts'
import { loraScale } from './methods/lora-scale.ts'
import { growRows, resizedConfig, VOCAB_WEIGHTS } from './model/resize.ts'

export interface MergeOptions {
  /** The base model folder. */
  baseDir: string
  adapter: { tensors: ReadonlyMap<string, FloatTensor>; loraConfig: LoraSpec }
  outDir: string
  /** @defaultValue '5GB' */
  maxShardSize?: string | number
  /** Folder with the training tokenizer (tokenizer.json with added tokens, tokenizer_config.json). */
  tokenizerDir?: string
  chatTemplate?: string
  /** Vocabulary rows after adding tokens (the tokenizer's size); the embedding grows to it. */
  vocabSize?: number
}

/** `W + scale · B A`: B [out, r], A [r, in], W [out, in]. */
function foldLora(w: FloatTensor, a: FloatTensor, b: FloatTensor, scale: number): FloatTensor {
  const merged = tf.tidy(() => {
    const delta = tf.matMul(tf.tensor2d(b.data, b.shape as [number, number]), tf.tensor2d(a.data, a.shape as [number, number]))
    return tf.add(tf.tensor2d(w.data, w.shape as [number, number]), tf.mul(delta, scale))
  })
  const data = merged.dataSync() as Float32Array // read outside tidy: tidy walks returned arrays element by element
  merged.dispose()
  return { shape: w.shape, data }
}

/** DoRA: `W' = (m / ‖V‖) · V` row by row, for the folded `V = W + scale·B·A` (PEFT's merge: the norm of the unmerged weight plus the update). */
function scaleRows(v: FloatTensor, m: FloatTensor): FloatTensor {
  const [rows, cols] = v.shape as [number, number]
  const norms = rowNorms(v)
  const data = Float32Array.from(v.data)
  for (let r = 0; r < rows; r++) {
    const g = m.data[r]! / norms[r]!
    for (let c = r * cols; c < (r + 1) * cols; c++) data[c] = data[c]! * g
  }
  return { shape: v.shape, data }
}

/**
 * Folds an adapter into its base model and writes a Hugging Face folder: `W' = W + (alpha/r)·B·A`
 * for every LoRA pair (DoRA: that times `m / ‖W + (alpha/r)·B·A‖` per row), saved modules replace the base ones, trainable-token rows are written into
 * the embedding (and lm_head when tied). Sharded by `maxShardSize`, with tokenizer and chat template.
 */
export async function mergeAdapter(o: MergeOptions): Promise<void> {
  const { family, config, tensors } = await readBase(o)
  const spec = o.adapter.loraConfig
  const scale = loraScale({ alpha: spec.alpha, rank: spec.rank, rsLora: spec.rsLora ?? false })
  const savedModules = [...o.adapter.tensors.keys()].map(parseAdapterKey).filter((k) => k?.kind === 'saved').map((k) => k!.module)
  const headSaved = savedModules.includes('lm_head')
  // Tied embeddings stay tied unless one side was trained as a separate copy; then lm_head starts as the base embedding.
  const tied = tiedAfterMerge(config.tieWordEmbeddings, savedModules)
  if (config.tieWordEmbeddings && !tied && !tensors.has('lm_head.weight')) tensors.set('lm_head.weight', { ...tensors.get('model.embed_tokens.weight')! })
  // LoftQ's replaced base weights (transformers names, hf's peft/loftq.ts) stand in for the base's before folding
  for (const [key, t] of o.adapter.tensors) if (!key.startsWith('base_model.') && tensors.has(key)) tensors.set(key, t)
  for (const [key, t] of o.adapter.tensors) {
    const parsed = parseAdapterKey(key)
    if (!parsed) continue
    if (parsed.kind === 'lora' && parsed.matrix === 'lora_A') {
      const name = moduleWeightName(parsed.module, parsed.layer)
      const b = o.adapter.tensors.get(key.replace('.lora_A.', '.lora_B.'))
      const w = tensors.get(name)
      if (!b || !w) throw new Error(`cannot merge ${key}: ${!b ? 'lora_B is missing' : `the base has no ${name}`}`)
      const folded = foldLora(w, t, b, scale)
      const m = spec.useDora ? o.adapter.tensors.get(magnitudeKey(parsed.module, parsed.layer)) : undefined
      if (spec.useDora && !m) throw new Error(`cannot merge ${key}: the DoRA adapter has no ${magnitudeKey(parsed.module, parsed.layer)}`)
      tensors.set(name, m ? scaleRows(folded, m) : folded)
    } else if (parsed.kind === 'saved') {
      tensors.set(moduleWeightName(parsed.module), { shape: [...t.shape], data: Float32Array.from(t.data) })
    }
  }
  for (const [key, rows] of o.adapter.tensors) {
    const parsed = parseAdapterKey(key)
    if (parsed?.kind !== 'tokens') continue
    const ids = spec.trainableTokens?.embed_tokens ?? []
    const hidden = config.hiddenSize
    const targets = ['model.embed_tokens.weight', ...(tied ? [] : config.tieWordEmbeddings && !headSaved ? ['lm_head.weight'] : [])]
    for (const name of targets) {
      const w = tensors.get(name)!
      const data = Float32Array.from(w.data)
      ids.forEach((id, i) => data.set(rows.data.subarray(i * hidden, (i + 1) * hidden), id * hidden))
      tensors.set(name, { shape: w.shape, data })
    }
  }
  await writeMerged(o, family, config, tensors, tied)
}

/** The base weights by transformers name, vocabulary rows grown to `o.vocabSize`. */
async function readBase(o: Pick<MergeOptions, 'baseDir' | 'vocabSize'>): Promise<{ family: string; config: ModelConfig; tensors: Map<string, FloatTensor> }> {
  const { family, config: baseConfig } = await readModelConfig(o.baseDir)
  const config = resizedConfig(baseConfig, o.vocabSize)
  const weights = await openModelWeights(o.baseDir)
  const tensors = new Map<string, FloatTensor>()
  try {
    for (const name of weights.names) {
      const t = await weights.readFloat(name)
      tensors.set(name, VOCAB_WEIGHTS.has(name) ? growRows(t, config.vocabSize) : t)
    }
  } finally {
    await weights.close()
  }
  return { family, config, tensors }
}

/**
 * Full, freeze and IA³: the base weights with the trained tensors in their place (full replaces every
 * one; IA³'s are the scaled base weights), written as a Hugging Face folder; an untrained tensor keeps the base's bytes.
 */
export async function mergeTrained(o: Omit<MergeOptions, 'adapter'> & { trained: ReadonlyMap<string, FloatTensor> | ((base: ReadonlyMap<string, FloatTensor>) => ReadonlyMap<string, FloatTensor>) }): Promise<void> {
  const { family, config, tensors } = await readBase(o)
  // IA³ computes its replacements from the base (W ⊙ l); full and freeze give them as trained
  const trained = typeof o.trained === 'function' ? o.trained(tensors) : o.trained
  await writeMerged(o, family, config, replaceTrained(tensors, trained), config.tieWordEmbeddings)
}

async function writeMerged(o: Omit<MergeOptions, 'adapter'>, family: string, config: ModelConfig, tensors: Map<string, FloatTensor>, tied: boolean): Promise<void> {
  // A reward model (the rm stage trained `score`) is a *ForSequenceClassification: the head replaces lm_head.
  const reward = tensors.has('score.weight')
  if (reward) tensors.delete('lm_head.weight')
  // Computed in float32, stored in the base's own dtype (a bf16 base merges to bf16), as the
  // torch worker stores it; the metadata comes from @tunekit/hf's one writer for both backends.
  const dtype = storedFloatDtype(o.baseDir)
  familyOf(family)
  await writeModelWeights(o.outDir, [...tensors], { maxShardSize: o.maxShardSize, floatDtype: dtype })
  // The model stops where training taught it to: the training tokenizer's eos (`<|im_end|>` with
  // ChatML), not the base model's `</s>`, in config.json and generation_config.json.
  const tok = o.tokenizerDir ? await loadTokenizer(o.tokenizerDir) : undefined
  await writeMergedMetadata(o.outDir, {
    baseDir: o.baseDir, vocabSize: config.vocabSize, tied, dtype, ...(reward ? { sequenceClassification: true } : {}),
    ...(tok ? { eosTokenId: tok.eos.id, padTokenId: tok.pad.id, tokenizerDir: o.tokenizerDir } : {}),
    ...(o.chatTemplate !== undefined ? { chatTemplate: o.chatTemplate } : {}),
  })
}
