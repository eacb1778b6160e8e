import type { FloatTensor } from '@tunekit/hf'
import { tf, type Var2D } from '../engine.ts'
import { headMatrix } from '../model/head.ts'
import type { DecoderModel, Linear } from '../model/types.ts'
import { loraScale, type LoraSettings } from './config.ts'
import type { LoraPair } from './layer.ts'

/** PEFT's prefix of every adapter key: `PeftModel.base_model` (LoraModel) `.model` (the transformers model). */
export const PEFT_PREFIX = 'base_model.model.'

/** Trainable state of a LoRA adapter on one model. Everything here is a Var2D. */
export interface AdapterState {
  settings: LoraSettings
  /** `alpha / rank` (or `/ sqrt(rank)` with rsLoRA). */
  scale: number
  /** By module path, e.g. `model.layers.0.self_attn.q_proj`. */
  lora: Map<string, LoraPair>
  /** Full trainable copies (`modulesToSave`): [vocab, hidden] each. */
  embed?: Var2D
  lmHead?: Var2D
  /** `trainableTokens`: the trained rows of the embedding, [ids.length, hidden]. */
  tokens?: { ids: Int32Array; rows: Var2D; index: Map<number, number> }
}

/** Every linear module of the model, in layer order. */
export function linearModules(model: DecoderModel): Linear[] {
  return model.layers.flatMap((l) => [l.q, l.k, l.v, l.o, l.gate, l.up, l.down])
}

const moduleName = (path: string): string => path.slice(path.lastIndexOf('.') + 1)

/** PEFT key of a LoRA matrix: `base_model.model.<path>.lora_A.weight`. */
export const loraKey = (path: string, which: 'A' | 'B'): string => `${PEFT_PREFIX}${path}.lora_${which}.weight`
export const EMBED_KEY = `${PEFT_PREFIX}model.embed_tokens.weight`
export const LM_HEAD_KEY = `${PEFT_PREFIX}lm_head.weight`
export const TOKENS_KEY = `${PEFT_PREFIX}model.embed_tokens.token_adapter.trainable_tokens_delta`

/**
 * Builds the adapter's variables. `initial` holds PEFT-keyed tensors (the initial adapter with
 * the seeded A matrices and B = 0, or a checkpoint); missing B matrices start at zero, so the
 * adapted model starts exactly at the base model.
 */
export function createAdapter(model: DecoderModel, settings: LoraSettings, initial: ReadonlyMap<string, FloatTensor>): AdapterState {
  const lora = new Map<string, LoraPair>()
  const targets = new Set(settings.targetModules)
  linearModules(model).forEach((lin, index) => {
    if (!targets.has(moduleName(lin.path))) return
    const [out, inF] = lin.weight.kind === 'dense' ? [lin.weight.weightT.shape[1], lin.weight.weightT.shape[0]] : lin.weight.weight.shape
    const aInit = initial.get(loraKey(lin.path, 'A'))
    if (!aInit) throw new Error(`the initial adapter has no ${loraKey(lin.path, 'A')}`)
    const a = tf.variable(tf.tensor2d(aInit.data, [settings.rank, inF]))
    const bInit = initial.get(loraKey(lin.path, 'B'))
    const b = tf.variable(bInit ? tf.tensor2d(bInit.data, [out, settings.rank]) : tf.zeros<tf.Rank.R2>([out, settings.rank]))
    lora.set(lin.path, { a, b, index })
  })
  const state: AdapterState = { settings, scale: loraScale(settings), lora }
  // Saved modules start as copies of the base weights, [vocab, hidden] as PEFT stores them.
  const copy = (key: string, base: () => tf.Tensor2D): Var2D => {
    const init = initial.get(key)
    return tf.variable(init ? tf.tensor2d(init.data, [model.config.vocabSize, model.config.hiddenSize]) : base())
  }
  if (settings.modulesToSave.includes('embed_tokens')) state.embed = copy(EMBED_KEY, () => model.embed.clone())
  if (settings.modulesToSave.includes('lm_head')) state.lmHead = copy(LM_HEAD_KEY, () => headMatrix(model.head))
  if (settings.trainableTokenIds.length > 0) {
    const ids = Int32Array.from(settings.trainableTokenIds)
    const init = initial.get(TOKENS_KEY)
    // PEFT's trainable_tokens_delta holds the rows themselves, starting as copies of the base rows.
    const rows = init ? tf.tensor2d(init.data, [ids.length, model.config.hiddenSize]) : tf.tidy(() => tf.gather(state.embed ?? model.embed, tf.tensor1d(ids, 'int32')))
    state.tokens = { ids, rows: tf.variable(rows), index: new Map([...ids].map((id, i) => [id, i])) }
  }
  return state
}

/** The trainable variables in a fixed order (the optimizer state follows it). */
export function trainableEntries(state: AdapterState): Array<[string, Var2D]> {
  const out: Array<[string, Var2D]> = []
  for (const [path, pair] of state.lora) out.push([loraKey(path, 'A'), pair.a], [loraKey(path, 'B'), pair.b])
  if (state.embed) out.push([EMBED_KEY, state.embed])
  if (state.lmHead) out.push([LM_HEAD_KEY, state.lmHead])
  if (state.tokens) out.push([TOKENS_KEY, state.tokens.rows])
  return out
}

/** Current adapter tensors under PEFT key names, read back to the host. */
export function adapterTensors(state: AdapterState): Map<string, FloatTensor> {
  const out = new Map<string, FloatTensor>()
  for (const [key, v] of trainableEntries(state)) out.set(key, { shape: [...v.shape], data: v.dataSync() as Float32Array })
  return out
}

/** Number of trainable values. */
export function trainableCount(state: AdapterState): number {
  return trainableEntries(state).reduce((n, [, v]) => n + v.size, 0)
}

export function disposeAdapter(state: AdapterState): void {
  for (const [, v] of trainableEntries(state)) v.dispose()
}
