// P-tuning on tfjs: PEFT's PromptEncoder (embedding [n, hidden], then the MLP hidden → e → e →
// hidden with ReLU, or a bidirectional LSTM and its MLP head 2e → 2e → hidden) computes the
// virtual tokens that forwardHidden puts before every row (model/virtual-tokens.ts), each step,
// so the gradient reaches the encoder. The artifact is PEFT's: the encoder's output as
// `prompt_embeddings`, which generation and `load` use as prompt tuning's embeddings.
import { initialPromptEncoder, pTuningTrained, type FloatTensor } from '@tunekit/hf'
import { tf } from '../engine.ts'
import { bidirectionalLstm, linearLayer, type LstmWeights } from '../model/prompt-encoder.ts'
import type { AdapterState } from './state.ts'
import { promptState } from './prompt-tuning.ts'
import { encoderVars, savedOutput, type EncoderVars } from './prompt-encoder-vars.ts'
import type { TfjsMethod, Trained } from './types.ts'

const relu = (x: tf.Tensor2D): tf.Tensor2D => tf.relu(x)
const head = (vars: EncoderVars, x: tf.Tensor2D, layer: number): tf.Tensor2D => linearLayer(x, vars.get2(`mlp_head.${layer}.weight`), vars.get1(`mlp_head.${layer}.bias`))

function lstmLayers(vars: EncoderVars, layers: number): Array<{ forward: LstmWeights; backward: LstmWeights }> {
  const direction = (l: number, dir: string): LstmWeights => ({
    ih: vars.get2(`lstm_head.weight_ih_l${l}${dir}`), hh: vars.get2(`lstm_head.weight_hh_l${l}${dir}`),
    bih: vars.get1(`lstm_head.bias_ih_l${l}${dir}`), bhh: vars.get1(`lstm_head.bias_hh_l${l}${dir}`),
  })
  return Array.from({ length: layers }, (_, l) => ({ forward: direction(l, ''), backward: direction(l, '_reverse') }))
}

/** PromptEncoder.forward over the n virtual tokens: [n, hidden]. */
function encoder(vars: EncoderVars, m: Trained<'p-tuning'>, seed: number): (training: boolean) => tf.Tensor2D {
  const embedding = vars.get2('embedding.weight')
  if (m.encoderReparameterizationType === 'MLP') return () => tf.tidy(() => head(vars, relu(head(vars, relu(head(vars, embedding, 0)), 2)), 4))
  const layers = lstmLayers(vars, m.encoderNumLayers)
  let calls = 0 // a fresh dropout mask each pass
  return (training) => tf.tidy(() => head(vars, relu(head(vars, bidirectionalLstm(embedding, layers, m.encoderDropout, training, seed * 1000003 + calls++), 0)), 2))
}

function pTuningState(m: Trained<'p-tuning'>, start: ReadonlyMap<string, FloatTensor>, seed: number): AdapterState {
  const vars = encoderVars(start)
  const promptEncoder = encoder(vars, m, seed)
  return { lora: new Map(), promptEncoder, saved: savedOutput(() => promptEncoder(false)), scale: 0, dropout: 0, weights: new Map(), entries: vars.entries }
}

export const pTuning = {
  setup: async ({ model, method, seed, resumed }) => {
    const trained = pTuningTrained(method, model.config)
    const start = resumed ?? initialPromptEncoder(trained, model.config, seed)
    return { state: pTuningState(trained, start, seed), trained }
  },
  // the artifact holds the encoder's output only: the virtual tokens as prompt tuning's
  load: (model, artifact) => promptState(model, artifact.tensors),
  merge: () => Promise.reject(new Error('a P-tuning adapter cannot be merged; the graph has no merge node for it (PromptTuningMerge)')),
} satisfies TfjsMethod<'p-tuning'>
