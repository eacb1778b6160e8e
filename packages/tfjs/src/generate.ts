import { createRng, type Rng } from '@tunekit/hf'
import { tf } from './engine.ts'
import type { AdapterState } from './methods/state.ts'
import type { KvEntry } from './model/attention.ts'
import { decoderLayer, embed, headLogits, layerMasks, ropeFor, type LayerContext } from './model/decoder.ts'
import { decodeMask } from './model/mask.ts'
import { modelNorm } from './model/rmsnorm.ts'
import { prependVirtual, virtualPrompt } from './model/virtual-tokens.ts'
import { prefixPast } from './model/prefix.ts'
import type { DecoderModel } from './model/types.ts'

export interface SamplingOptions {
  maxNewTokens?: number
  /** 0 or undefined: greedy (argmax). */
  temperature?: number
  topK?: number
  topP?: number
  seed?: number
  /** Generation stops after any of these ids (not included in the result). */
  eosIds?: readonly number[]
}

/** Runs `ids` through the model after `cache.length` earlier tokens; returns the last position's logits [vocab]. */
function step(model: DecoderModel, adapter: AdapterState | undefined, ids: Int32Array, cache: KvEntry[], past: number): Float32Array {
  // tidy returns the tensor, not its data: tidy walks a returned typed array element by element.
  const logits = tf.tidy(() => {
    // prompt tuning, P-tuning: the first pass puts the virtual tokens before the prompt; the cache keeps them
    const prompt = past === 0 ? virtualPrompt(adapter, false) : undefined
    const n = ids.length + (prompt?.shape[0] ?? 0)
    const positions = Int32Array.from({ length: n }, (_, i) => past + i)
    const { cos, sin } = ropeFor(model, positions, 1, n)
    const masks = layerMasks(model.config, (window) => tf.tensor4d(decodeMask(past, n, window), [1, 1, n, past + n]))
    const ctx: LayerContext = { model, adapter, opts: {}, batch: 1, seq: n, cos, sin, ...masks }
    let hidden = embed(model, adapter, ids)
    if (prompt) hidden = prependVirtual(hidden, prompt, 1, ids.length)
    model.layers.forEach((layer, i) => {
      hidden = decoderLayer(ctx, layer, hidden, { entries: cache, index: i })
    })
    const last = tf.slice(modelNorm(model.config, hidden, model.norm) as tf.Tensor2D, [n - 1, 0], [1, -1])
    return headLogits(model, adapter, last)
  })
  const data = logits.dataSync() as Float32Array
  logits.dispose()
  return data
}

/** Fills an empty cache with prefix tuning's per-layer keys and values; returns their count n (0 without a prefix). */
function seedPrefix(model: DecoderModel, adapter: AdapterState | undefined, cache: KvEntry[]): number {
  const make = adapter?.prefix
  if (!make) return 0
  const entries = tf.tidy(() => prefixPast(model.config, make(false), 1).flatMap((e) => [e.k, e.v]))
  for (let i = 0; i < entries.length; i += 2) cache.push({ k: entries[i] as tf.Tensor4D, v: entries[i + 1] as tf.Tensor4D })
  return cache[0]?.k.shape[2] ?? 0
}

/** Picks the next token: argmax, or a draw after temperature, top-k and top-p (nucleus) filtering. */
export function sampleToken(logits: Float32Array, opts: SamplingOptions, rng: Rng): number {
  const temperature = opts.temperature ?? 0
  if (temperature <= 0) {
    let best = 0
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i
    return best
  }
  let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!)
  if (opts.topK && opts.topK > 0) order = order.slice(0, opts.topK)
  const max = logits[order[0]!]!
  let probs = order.map((i) => Math.exp((logits[i]! - max) / temperature))
  let total = probs.reduce((a, b) => a + b, 0)
  if (opts.topP !== undefined && opts.topP < 1) {
    // Keep the smallest prefix whose probability reaches topP (always at least one token).
    let cumulative = 0
    let keep = 0
    while (keep < probs.length && (keep === 0 || cumulative < opts.topP * total)) cumulative += probs[keep++]!
    order = order.slice(0, keep)
    probs = probs.slice(0, keep)
    total = cumulative
  }
  let draw = rng.uniform() * total
  for (let i = 0; i < order.length; i++) {
    draw -= probs[i]!
    if (draw <= 0) return order[i]!
  }
  return order[order.length - 1]!
}

/**
 * Generates token ids after `promptIds` with a KV cache: one pass over the prompt, then one token
 * per pass. Stops at an eos id or after `maxNewTokens`.
 */
export function generateIds(model: DecoderModel, adapter: AdapterState | undefined, promptIds: readonly number[], opts: SamplingOptions = {}, onToken?: (id: number) => void): number[] {
  const cache: KvEntry[] = []
  const rng = createRng(opts.seed ?? 0, 'generate')
  const eos = new Set(opts.eosIds ?? [])
  const out: number[] = []
  try {
    // prefix tuning: the cache starts with the prefix, n past positions of every layer
    const prefixed = seedPrefix(model, adapter, cache)
    const virtual = prefixed === 0 ? tf.tidy(() => virtualPrompt(adapter, false)?.shape[0] ?? 0) : 0
    let logits = step(model, adapter, Int32Array.from(promptIds), cache, prefixed)
    let past = prefixed + promptIds.length + virtual
    for (let i = 0; i < (opts.maxNewTokens ?? 128); i++) {
      const next = sampleToken(logits, opts, rng)
      if (eos.has(next)) break
      out.push(next)
      onToken?.(next)
      logits = step(model, adapter, Int32Array.of(next), cache, past)
      past++
    }
    return out
  } finally {
    for (const e of cache) tf.dispose([e.k, e.v])
  }
}
