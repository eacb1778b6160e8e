// LoRA on the tfjs model: `y = x Wᵀ + scale · dropout(x) Aᵀ Bᵀ` per targeted module (model/linear.ts;
// DoRA's magnitude-scaled form in model/dora.ts),
// saved modules as trainable copies, trainable-token rows swapped into the embedding. Keys are
// PEFT's (`loraKey` & co. from @tunekit/hf), so the adapter is the one both backends write.
import { loftqConfigSchema, warmStartDir } from '@tunekit/core'
import { initialAdapter, isLoftq, isPissa, pissaResidual, loraKey as peftLoraKey, loraSpecFromRecipe, magnitudeKey, readAdapter, savedModuleKey, targetModuleList, trainableTokensKey, type FloatTensor, type LoraSpec } from '@tunekit/hf'
import { tf, type Var2D } from '../engine.ts'
import { headMatrix } from '../model/head.ts'
import type { LoraPair } from '../model/linear.ts'
import { baseWeightReader } from '../model/load.ts'
import type { DecoderModel } from '../model/types.ts'
import { mergeAdapter } from '../merge.ts'
import { loraScale } from './lora-scale.ts'
import { loftqInit } from './loftq.ts'
import { quantize } from '../quant/linear.ts'
import type { FrozenWeight } from '../model/types.ts'

export { loraScale } from './lora-scale.ts'
import { linearModules, type AdapterState } from './state.ts'
import type { TfjsMethod } from './types.ts'


const moduleName = (path: string): string => path.slice(path.lastIndexOf('.') + 1)
const layerOf = (path: string): number => Number(/\.layers\.(\d+)\./.exec(path)![1])
/** PEFT key of a module path's matrix (`model.layers.0.self_attn.q_proj`, 'A'). */
const keyOf = (path: string, which: 'A' | 'B'): string => peftLoraKey(moduleName(path), layerOf(path), which === 'A' ? 'lora_A' : 'lora_B')

/**
 * Builds the adapter's variables. `initial` holds PEFT-keyed tensors (the initial adapter with
 * the seeded A matrices and B = 0, or a checkpoint); missing B matrices start at zero, so the
 * adapted model starts exactly at the base model.
 */
export function createAdapter(model: DecoderModel, spec: LoraSpec, initial: ReadonlyMap<string, FloatTensor>): AdapterState {
  const lora = new Map<string, LoraPair>()
  const entries: Array<[string, tf.Variable]> = []
  const targets = new Set(targetModuleList(spec, model.family))
  linearModules(model).forEach((lin, index) => {
    if (!targets.has(moduleName(lin.path))) return
    const [out, inF] = lin.weight.kind === 'dense' ? [lin.weight.weightT.shape[1], lin.weight.weightT.shape[0]] : lin.weight.weight.shape
    const aInit = initial.get(keyOf(lin.path, 'A'))
    if (!aInit) throw new Error(`the initial adapter has no ${keyOf(lin.path, 'A')}`)
    const a = tf.variable(tf.tensor2d(aInit.data, [spec.rank, inF]))
    const bInit = initial.get(keyOf(lin.path, 'B'))
    const b = tf.variable(bInit ? tf.tensor2d(bInit.data, [out, spec.rank]) : tf.zeros<tf.Rank.R2>([out, spec.rank]))
    lora.set(lin.path, { a, b, index })
    entries.push([keyOf(lin.path, 'A'), a], [keyOf(lin.path, 'B'), b])
    if (spec.useDora) {
      // DoRA's m [out]: the initial adapter's row norms of W, or the trained values
      const key = magnitudeKey(moduleName(lin.path), layerOf(lin.path))
      const mInit = initial.get(key)
      if (!mInit) throw new Error(`the initial adapter has no ${key}`)
      const magnitude = tf.variable(tf.tensor1d(mInit.data))
      lora.get(lin.path)!.magnitude = magnitude
      entries.push([key, magnitude])
    }
  })
  const state: AdapterState = { lora, scale: loraScale({ alpha: spec.alpha, rank: spec.rank, rsLora: spec.rsLora ?? false }), dropout: spec.dropout ?? 0, weights: new Map(), entries }
  // Saved modules start as copies of the base weights, [vocab, hidden] as PEFT stores them.
  const copy = (key: string, base: () => tf.Tensor2D): Var2D => {
    const init = initial.get(key)
    const v = tf.variable(init ? tf.tensor2d(init.data, [model.config.vocabSize, model.config.hiddenSize]) : base())
    entries.push([key, v])
    return v
  }
  const saved = spec.modulesToSave ?? []
  if (saved.includes('embed_tokens')) state.embed = copy(savedModuleKey('embed_tokens'), () => model.embed.clone())
  if (saved.includes('lm_head')) state.lmHead = copy(savedModuleKey('lm_head'), () => headMatrix(model.head))
  if (saved.includes('score')) {
    // the reward head [1, hidden] (PEFT's SEQ_CLS modules_to_save): drawn by initialAdapter, never from the base
    const init = initial.get(savedModuleKey('score'))
    if (!init) throw new Error(`the initial adapter has no ${savedModuleKey('score')}`)
    state.score = tf.variable(tf.tensor2d(init.data, [1, model.config.hiddenSize]))
    entries.push([savedModuleKey('score'), state.score])
  }
  const tokenIds = spec.trainableTokens?.embed_tokens ?? []
  if (tokenIds.length > 0) {
    const ids = Int32Array.from(tokenIds)
    const init = initial.get(trainableTokensKey('embed_tokens'))
    // PEFT's trainable_tokens_delta holds the rows themselves, starting as copies of the base rows.
    const rows = init ? tf.tensor2d(init.data, [ids.length, model.config.hiddenSize]) : tf.tidy(() => tf.gather(state.embed ?? model.embed, tf.tensor1d(ids, 'int32')))
    state.tokens = { ids, rows: tf.variable(rows), index: new Map([...ids].map((id, i) => [id, i])) }
    entries.push([trainableTokensKey('embed_tokens'), state.tokens.rows])
  }
  return state
}

/**
 * PiSSA's initial adapter (A0, B0 from each weight's SVD; saved modules as LoRA's) and the
 * train node's model turned into the residual base: each adapted weight W [out, in] replaced by
 * `W − scale·B0·A0` (@tunekit/hf's pissaResidual), as PEFT's pissa_init replaces the base layer's.
 */
async function pissaBase(model: DecoderModel, modelDir: string, spec: LoraSpec, seed: number): Promise<Map<string, FloatTensor>> {
  const base = await baseWeightReader(modelDir, model.config.vocabSize)
  try {
    const start = await initialAdapter({ family: model.family, config: model.config, lora: spec, seed, baseTensors: base })
    const targets = new Set(targetModuleList(spec, model.family))
    const scale = loraScale(spec)
    for (const lin of linearModules(model)) {
      if (!targets.has(moduleName(lin.path))) continue
      if (lin.weight.kind !== 'dense') throw new Error(`PiSSA needs the full-precision weight of ${lin.path}`)
      const w = await base.readFloat(`${lin.path}.weight`)
      const res = pissaResidual(w, start.get(keyOf(lin.path, 'A'))!, start.get(keyOf(lin.path, 'B'))!, scale)
      const old = lin.weight.weightT
      lin.weight = { kind: 'dense', weightT: tf.tidy(() => tf.transpose(tf.tensor2d(res.data, res.shape as [number, number]))) } // [in, out]
      old.dispose()
    }
    return start
  } finally {
    await base.close()
  }
}

/** The frozen weight `w` [out, in] in the form `like` has: packed with its quantiser's settings, or dense. */
function frozenLike(like: FrozenWeight, w: FloatTensor): FrozenWeight {
  const shape = w.shape as [number, number]
  if (like.kind === 'dense') return { kind: 'dense', weightT: tf.tidy(() => tf.transpose(tf.tensor2d(w.data, shape))) } // [in, out]
  const q = like.weight
  return { kind: 'quantized', weight: quantize(w.data, shape, { type: q.type, blockSize: q.blockSize, doubleQuant: !(q.scales instanceof Float32Array) }) }
}

/** Puts replaced base weights (transformers names, [out, in]) into the model's adapted linears, in their stored form. */
function replaceBase(model: DecoderModel, weights: ReadonlyMap<string, FloatTensor>): void {
  for (const lin of linearModules(model)) {
    const w = weights.get(`${lin.path}.weight`)
    if (!w) continue
    const old = lin.weight
    lin.weight = frozenLike(old, w)
    if (old.kind === 'dense') old.weightT.dispose()
  }
}

/**
 * LoftQ's initial adapter (A = R, B = L of each weight's quantisation error, loftq.ts; saved modules
 * as LoRA's) and the replaced base weights Q(W − B0·A0) by transformers name, put into the model in
 * its quantised form (model.quantize's settings), as PEFT's loftq_init replaces the base layer's.
 */
async function loftqBase(model: DecoderModel, modelDir: string, spec: LoraSpec, o: { seed: number; bits: 4 | 8; iters: number }): Promise<{ start: Map<string, FloatTensor>; replaced: Map<string, FloatTensor> }> {
  const base = await baseWeightReader(modelDir, model.config.vocabSize)
  try {
    const start = await initialAdapter({ family: model.family, config: model.config, lora: spec, seed: o.seed, baseTensors: base })
    const targets = new Set(targetModuleList(spec, model.family))
    const replaced = new Map<string, FloatTensor>()
    for (const lin of linearModules(model)) {
      if (!targets.has(moduleName(lin.path))) continue
      const init = loftqInit(await base.readFloat(`${lin.path}.weight`), { bits: o.bits, rank: spec.rank, iters: o.iters })
      start.set(keyOf(lin.path, 'A'), init.a)
      start.set(keyOf(lin.path, 'B'), init.b)
      replaced.set(`${lin.path}.weight`, init.base)
    }
    replaceBase(model, replaced)
    return { start, replaced }
  } finally {
    await base.close()
  }
}

export const lora = {
  setup: async ({ model, method, modelDir, trainableTokenIds, seed, baseDir, resumed }) => {
    const spec = loraSpecFromRecipe(method, model.family, [...trainableTokenIds])
    let initial = resumed
    const warm = warmStartDir(method.init, baseDir)
    // A warm start continues an existing adapter (checked against the model first); else the seeded draw.
    if (!initial && warm) initial = (await readAdapter(warm, { family: model.family, config: model.config })).tensors
    if (isPissa(spec)) {
      // PiSSA: the base becomes W − scale·B0·A0 on every run (resumed too: the SVD is deterministic)
      const start = await pissaBase(model, modelDir, spec, seed)
      const state = createAdapter(model, spec, initial ?? start)
      return { state: { ...state, pissaStart: new Map([...start].filter(([k]) => /\.lora_[AB]\.weight$/.test(k))) }, trained: { kind: 'lora', spec } }
    }
    if (isLoftq(spec)) {
      // LoftQ: the base becomes Q(W − B0·A0) on every run (resumed too: deterministic); the artifact keeps it
      const loftq = method.loftqConfig ?? loftqConfigSchema.parse({}) // absent: the schema's defaults
      const { start, replaced } = await loftqBase(model, modelDir, spec, { seed, bits: loftq.loftqBits, iters: loftq.loftqIter })
      return { state: { ...createAdapter(model, spec, initial ?? start), artifactExtra: replaced }, trained: { kind: 'lora', spec } }
    }
    if (!initial) {
      const base = await baseWeightReader(modelDir, model.config.vocabSize)
      initial = await initialAdapter({ family: model.family, config: model.config, lora: spec, seed, baseTensors: base }).finally(() => base.close())
    }
    return { state: createAdapter(model, spec, initial), trained: { kind: 'lora', spec } }
  },
  load: (model, artifact) => {
    // a LoftQ artifact's replaced base weights go into the model before its adapter
    if (isLoftq(artifact.method.spec)) replaceBase(model, artifact.tensors)
    return createAdapter(model, artifact.method.spec, artifact.tensors)
  },
  merge: async (o) => {
    await mergeAdapter({ ...o, adapter: { tensors: o.artifact.tensors, loraConfig: o.artifact.method.spec } })
  },
} satisfies TfjsMethod<'lora'>
