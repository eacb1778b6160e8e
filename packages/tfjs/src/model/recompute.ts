import { tf } from '../engine.ts'
import { decoderLayer, type LayerContext } from './decoder-layer.ts'
import type { DecoderLayer } from './types.ts'

interface TapeState {
  activeTape: unknown
}

/**
 * Gradient checkpointing for one decoder layer: the forward keeps only the layer's input; the
 * backward recomputes the layer (same dropout seeds) and differentiates it against its input and
 * its trained tensors (LoRA matrices and DoRA magnitudes, or the layer's own weights under full / freeze). Activation memory drops to one layer's worth.
 */
export function checkpointed(ctx: LayerContext, layer: DecoderLayer, index: number, x: tf.Tensor2D): tf.Tensor2D {
  const prefix = `model.layers.${index}.`
  const pairs = ctx.adapter ? [...ctx.adapter.lora].filter(([path]) => path.startsWith(prefix)).map(([, p]) => p) : []
  // Full / freeze: the layer's trained tensors get their gradients from the recomputation too.
  const weights = ctx.adapter ? [...ctx.adapter.weights].filter(([name]) => name.startsWith(prefix)).map(([, w]) => w) : []
  const trainables: tf.Tensor[] = [...pairs.flatMap((p) => [p.a, p.b, ...(p.magnitude ? [p.magnitude] : [])]), ...weights]
  const op = tf.customGrad((...args) => {
    const save = args.pop() as tf.GradSaveFunc
    const input = args[0] as tf.Tensor2D
    // The rotary tables and mask belong to the forward pass's tidy scope: save them so they live until the backward.
    save([input, ctx.cos, ctx.sin, ctx.mask, ...(ctx.slidingMask ? [ctx.slidingMask] : [])])
    const value = tf.tidy(() => decoderLayer(ctx, layer, input))
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const again: LayerContext = { ...ctx, cos: saved[1] as tf.Tensor4D, sin: saved[2] as tf.Tensor4D, mask: saved[3] as tf.Tensor4D, ...(saved[4] ? { slidingMask: saved[4] as tf.Tensor4D } : {}) }
      const engine = tf.engine() as unknown as { state: TapeState }
      // A nested gradient pass clears the engine's tape when it ends; the outer pass still needs it.
      const outerTape = engine.state.activeTape
      try {
        const xs = [saved[0]!, ...trainables]
        const { value: recomputed, grads } = tf.engine().gradients(() => tf.sum(tf.mul(decoderLayer(again, layer, saved[0] as tf.Tensor2D), dy)), xs, undefined, true)
        recomputed.dispose()
        return grads.map((g, i) => g ?? tf.zerosLike(xs[i]!))
      } finally {
        engine.state.activeTape = outerTape
      }
    }
    return { value, gradFunc }
  })
  return op(x, ...trainables) as tf.Tensor2D
}
