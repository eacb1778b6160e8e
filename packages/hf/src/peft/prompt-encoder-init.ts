// The start values of P-tuning's and prefix tuning's trained tensors, drawn here for both backends
// (the torch worker copies them into PEFT's PromptEncoder / PrefixEncoder, so the two runs start
// alike), under PEFT's parameter names. As torch initialises them: nn.Embedding N(0, 1);
// nn.Linear(in, out) weight and bias U(−1/√in, 1/√in) (kaiming_uniform with a = √5); nn.LSTM every
// tensor U(−1/√hidden, 1/√hidden). Each tensor has its own stream (args.seed, its name).
import { prefixWidth, type ModelConfig } from '@tunekit/core'
import { createRng } from '../prng.ts'
import type { FloatTensor } from '../safetensors.ts'
import { PROMPT_ENCODER } from './peft-keys.ts'
import type { TrainedMethod } from './types.ts'

function normal(out: Map<string, FloatTensor>, seed: number, name: string, shape: [number, number]): void {
  const key = `${PROMPT_ENCODER}${name}`
  out.set(key, { shape, data: createRng(seed, key).fillNormal(new Float32Array(shape[0] * shape[1]), 0, 1) })
}

function uniform(out: Map<string, FloatTensor>, seed: number, name: string, shape: number[], bound: number): void {
  const key = `${PROMPT_ENCODER}${name}`
  out.set(key, { shape, data: createRng(seed, key).fillUniform(new Float32Array(shape.reduce((a, b) => a * b, 1)), bound) })
}

/** `nn.Linear(inF, outF)` named `name` (`mlp_head.0`): weight [outF, inF], bias [outF]. */
function linear(out: Map<string, FloatTensor>, seed: number, name: string, inF: number, outF: number): void {
  uniform(out, seed, `${name}.weight`, [outF, inF], 1 / Math.sqrt(inF))
  uniform(out, seed, `${name}.bias`, [outF], 1 / Math.sqrt(inF))
}

/** P-tuning's PromptEncoder: the embedding [n, hidden], then the MLP or the bidirectional LSTM and its MLP head. */
export function initialPTuning(o: { numVirtualTokens: number; hiddenSize: number; encoderHiddenSize: number; encoderReparameterizationType: 'MLP' | 'LSTM'; encoderNumLayers: number; seed: number }): Map<string, FloatTensor> {
  const out: Map<string, FloatTensor> = new Map()
  const [h, e, seed] = [o.hiddenSize, o.encoderHiddenSize, o.seed]
  normal(out, seed, 'embedding.weight', [o.numVirtualTokens, h])
  if (o.encoderReparameterizationType === 'MLP') {
    linear(out, seed, 'mlp_head.0', h, e)
    linear(out, seed, 'mlp_head.2', e, e)
    linear(out, seed, 'mlp_head.4', e, h)
    return out
  }
  const bound = 1 / Math.sqrt(e)
  for (let layer = 0; layer < o.encoderNumLayers; layer++) {
    const inF = layer === 0 ? h : 2 * e
    for (const dir of ['', '_reverse']) {
      uniform(out, seed, `lstm_head.weight_ih_l${layer}${dir}`, [4 * e, inF], bound)
      uniform(out, seed, `lstm_head.weight_hh_l${layer}${dir}`, [4 * e, e], bound)
      uniform(out, seed, `lstm_head.bias_ih_l${layer}${dir}`, [4 * e], bound)
      uniform(out, seed, `lstm_head.bias_hh_l${layer}${dir}`, [4 * e], bound)
    }
  }
  linear(out, seed, 'mlp_head.0', 2 * e, 2 * e)
  linear(out, seed, 'mlp_head.2', 2 * e, h)
  return out
}

/** Prefix tuning's PrefixEncoder: the prefix [n, width] itself, or embeddings [n, kvDim] and the tanh MLP kvDim → e → width. */
export function initialPrefix(o: { numVirtualTokens: number; kvDim: number; width: number; encoderHiddenSize: number; prefixProjection: boolean; seed: number }): Map<string, FloatTensor> {
  const out: Map<string, FloatTensor> = new Map()
  if (!o.prefixProjection) {
    normal(out, o.seed, 'embedding.weight', [o.numVirtualTokens, o.width])
    return out
  }
  normal(out, o.seed, 'embedding.weight', [o.numVirtualTokens, o.kvDim])
  linear(out, o.seed, 'transform.0', o.kvDim, o.encoderHiddenSize)
  linear(out, o.seed, 'transform.2', o.encoderHiddenSize, o.width)
  return out
}

/** The start values of a P-tuning or prefix-tuning run on a model of config `c`: what both backends train from. */
export function initialPromptEncoder(m: Extract<TrainedMethod, { kind: 'p-tuning' | 'prefix-tuning' }>, c: ModelConfig, seed: number): Map<string, FloatTensor> {
  if (m.kind === 'p-tuning') return initialPTuning({ ...m, hiddenSize: c.hiddenSize, seed })
  return initialPrefix({ ...m, kvDim: m.shape.tokenDim, width: prefixWidth(c), seed })
}
