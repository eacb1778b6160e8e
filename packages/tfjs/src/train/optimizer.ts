import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import type { FloatTensor } from '@tunekit/hf'
import { tf } from '../engine.ts'
import { kernelOptions } from '../model/kernel-options.ts'

export interface OptimizerSettings {
  kind: 'adamw' | 'sgd'
  beta1: number
  beta2: number
  epsilon: number
  weightDecay: number
  /** LoRA+ (`lora.loraplusLrRatio`): B matrices and 1-D tensors learn at this multiple of the rate. */
  loraplusLrRatio?: number | undefined
}

/** The recipe's optimizer settings: `args` and, for LoRA, LoRA+'s ratio (one place for every train node). */
export function optimizerSettings(a: { optimizer: string; adamBeta1: number; adamBeta2: number; adamEpsilon: number; weightDecay: number }, method?: { kind: string; loraplusLrRatio?: number | undefined }): OptimizerSettings {
  const ratio = method?.kind === 'lora' ? method.loraplusLrRatio : undefined
  return { kind: a.optimizer === 'sgd' ? 'sgd' : 'adamw', beta1: a.adamBeta1, beta2: a.adamBeta2, epsilon: a.adamEpsilon, weightDecay: a.weightDecay, ...(ratio !== undefined ? { loraplusLrRatio: ratio } : {}) }
}

/** Moments per trainable tensor, in the order of the trainable list; `step` counts updates done. */
export interface OptimizerState {
  settings: OptimizerSettings
  step: number
  expAvg: tf.Tensor[]
  expAvgSq: tf.Tensor[]
  /** Per tensor: weight decay applies (not to biases and norm weights: transformers' Trainer rule, as the torch worker does). */
  decays: boolean[]
  /** Per tensor: its learning rate over the scheduled one (1, or LoRA+'s ratio for its B group). */
  lrScales: number[]
}

/** transformers' Trainer decays every trainable tensor except biases and norm weights. */
export const decays = (key: string): boolean => !(key.endsWith('.bias') || key.toLowerCase().includes('norm'))

/**
 * LoRA+'s groups as PEFT's `create_loraplus_optimizer` forms them: B matrices and every 1-D tensor
 * (biases, DoRA magnitudes) learn at `ratio` × the rate, decayed unless a bias or a LayerNorm's
 * (PEFT's `decay_parameters`); everything else (A, saved modules, token rows) at the rate, decayed.
 */
function loraPlusGroup(key: string, rank: number, ratio: number): { scale: number; decays: boolean } {
  if (key.includes('lora_B') || rank === 1) return { scale: ratio, decays: !key.includes('bias') && !key.includes('LayerNorm.') }
  return { scale: 1, decays: true }
}

export function createOptimizer(settings: OptimizerSettings, params: readonly tf.Variable[], keys: readonly string[] = []): OptimizerState {
  const adam = settings.kind === 'adamw'
  const ratio = settings.loraplusLrRatio
  const groups = params.map((p, i) => (ratio !== undefined && keys[i] !== undefined ? loraPlusGroup(keys[i]!, p.rank, ratio) : { scale: 1, decays: keys[i] === undefined || decays(keys[i]!) }))
  return {
    settings,
    step: 0,
    decays: groups.map((g) => g.decays),
    lrScales: groups.map((g) => g.scale),
    expAvg: adam ? params.map((p) => tf.zerosLike(p)) : [],
    expAvgSq: adam ? params.map((p) => tf.zerosLike(p)) : [],
  }
}

/**
 * One update, as torch.optim.AdamW (decoupled weight decay, bias-corrected):
 * `p ← p(1 − lr·wd)`, `m ← β1 m + (1−β1) g`, `v ← β2 v + (1−β2) g²`,
 * `p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε)`. SGD as torch.optim.SGD: `p ← p − lr (g + wd p)`.
 * `lr` is `baseLr` (the scheduled rate) times the tensor's group scale (LoRA+).
 */
export function optimizerStep(state: OptimizerState, params: readonly tf.Variable[], grads: readonly tf.Tensor[], baseLr: number): void {
  const s = state.settings
  state.step++
  const t = state.step
  params.forEach((p, i) => {
    const g = grads[i]!
    const wd = state.decays[i] ? s.weightDecay : 0
    const lr = baseLr * state.lrScales[i]!
    if (s.kind === 'sgd') {
      p.assign(tf.tidy(() => tf.sub(p, tf.mul(wd > 0 ? tf.add(g, tf.mul(p, wd)) : g, lr))))
      return
    }
    if (adamInPlace(state, i, p, g, lr, wd, t)) return
    const [m, v, next] = tf.tidy(() => {
      const decayed = wd > 0 ? tf.mul(p, 1 - lr * wd) : p
      const m = tf.add(tf.mul(state.expAvg[i]!, s.beta1), tf.mul(g, 1 - s.beta1))
      const v = tf.add(tf.mul(state.expAvgSq[i]!, s.beta2), tf.mul(tf.square(g), 1 - s.beta2))
      const stepSize = lr / (1 - Math.pow(s.beta1, t))
      const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(1 - Math.pow(s.beta2, t))), s.epsilon)
      return [m, v, tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize))]
    })
    tf.dispose([state.expAvg[i]!, state.expAvgSq[i]!])
    state.expAvg[i] = m!
    state.expAvgSq[i] = v!
    p.assign(next!)
    next!.dispose()
  })
}

const f32 = Math.fround

/**
 * The AdamW update of tensor `i` done in place in the wasm heap: the parameter and its moments
 * rewritten element by element in one pass, no temporaries (the tensor-op form holds ≈ 13
 * tensor-sized ones at once, 0.4 GB for a 32000 × 256 trained head, and the wasm heap never
 * shrinks). Each operation rounded to float32 in the tensor-op form's order, with its float32
 * constants, so the result is that form's bit for bit. Only on wasm, with float32 tensors whose
 * buffers nothing else shares (a reshape shares its input's); false leaves the step to the tensor ops.
 */
function adamInPlace(state: OptimizerState, i: number, p: tf.Variable, g: tf.Tensor, lr: number, wd: number, t: number): boolean {
  if (!kernelOptions().inPlaceAdam || tf.getBackend() !== 'wasm') return false
  const m = state.expAvg[i]!
  const v = state.expAvgSq[i]!
  const backend = tf.backend() as BackendWasm
  if ([p, g, m, v].some((x) => x.dtype !== 'float32') || [m, v].some((x) => backend.refCount(x.dataId) !== 1)) return false
  // a variable shares the buffer of the tensor it was made from while that one lives: the new
  // values then go to a buffer of their own (one allocation), assigned after the pass
  const fresh = backend.refCount(p.dataId) !== 1 ? tf.zerosLike(p) : undefined
  const s = state.settings
  const [from, gv, mv, vv] = [p, g, m, v].map((x) => backend.typedArrayFromHeap(x) as Float32Array)
  const pv = fresh ? (backend.typedArrayFromHeap(fresh) as Float32Array) : from!
  const keep = f32(1 - lr * wd)
  const [b1, c1, b2, c2] = [f32(s.beta1), f32(1 - s.beta1), f32(s.beta2), f32(1 - s.beta2)]
  const bias2 = f32(Math.sqrt(1 - Math.pow(s.beta2, t)))
  const eps = f32(s.epsilon)
  const stepSize = f32(lr / (1 - Math.pow(s.beta1, t)))
  for (let j = 0; j < pv!.length; j++) {
    const gj = gv![j]!
    const mj = f32(f32(mv![j]! * b1) + f32(gj * c1))
    const vj = f32(f32(vv![j]! * b2) + f32(f32(gj * gj) * c2))
    const denom = f32(f32(f32(Math.sqrt(vj)) / bias2) + eps)
    const decayed = wd > 0 ? f32(from![j]! * keep) : from![j]!
    mv![j] = mj
    vv![j] = vj
    pv[j] = f32(decayed - f32(f32(mj / denom) * stepSize))
  }
  if (fresh) {
    p.assign(fresh)
    fresh.dispose()
  }
  return true
}

/** Global L2 norm of all gradients; scales them in place to `maxNorm` when above it (torch's clip_grad_norm_). */
export function clipGlobalNorm(grads: tf.Tensor[], maxNorm: number): number {
  const norm = Math.sqrt(grads.reduce((sum, g) => sum + tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]!), 0))
  if (maxNorm > 0 && Number.isFinite(norm)) {
    const coef = maxNorm / (norm + 1e-6)
    if (coef < 1) {
      for (let i = 0; i < grads.length; i++) {
        const scaled = tf.mul(grads[i]!, coef)
        grads[i]!.dispose()
        grads[i] = scaled
      }
    }
  }
  return norm
}

/** The moments as host tensors keyed `<adapter key>.exp_avg` / `.exp_avg_sq` (docs/architecture.md). */
export function optimizerTensors(state: OptimizerState, keys: readonly string[]): Map<string, FloatTensor> {
  const out = new Map<string, FloatTensor>()
  keys.forEach((key, i) => {
    if (state.expAvg[i]) out.set(`${key}.exp_avg`, { shape: [...state.expAvg[i]!.shape], data: state.expAvg[i]!.dataSync() as Float32Array })
    if (state.expAvgSq[i]) out.set(`${key}.exp_avg_sq`, { shape: [...state.expAvgSq[i]!.shape], data: state.expAvgSq[i]!.dataSync() as Float32Array })
  })
  return out
}

/** Restores moments written by {@link optimizerTensors}. */
export function restoreOptimizer(state: OptimizerState, keys: readonly string[], tensors: ReadonlyMap<string, FloatTensor>, step: number): void {
  state.step = step
  keys.forEach((key, i) => {
    const m = tensors.get(`${key}.exp_avg`)
    const v = tensors.get(`${key}.exp_avg_sq`)
    if (m && state.expAvg[i]) {
      state.expAvg[i]!.dispose()
      state.expAvg[i] = tf.tensor(m.data, m.shape)
    }
    if (v && state.expAvgSq[i]) {
      state.expAvgSq[i]!.dispose()
      state.expAvgSq[i] = tf.tensor(v.data, v.shape)
    }
  })
}

export function disposeOptimizer(state: OptimizerState): void {
  tf.dispose([...state.expAvg, ...state.expAvgSq])
}
