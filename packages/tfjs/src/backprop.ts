import * as tf from '@tensorflow/tfjs-core'
import { kernelOptions } from './model/kernel-options.ts'

// tfjs-core's Engine.gradients walks the tape backward and frees nothing until the walk ends: every
// tensor the forward pass saved for the backward (its tape nodes' `saved`) and every intermediate
// gradient stays alive until the last node is done, so the backward pass's memory only grows — on
// bench/vs-trainer-job.ts's model, from 1.6 GB of live tensors at the loss to 2.6 GB at the end of
// a step, with the wasm heap (which never shrinks) at that high-water mark. This replacement walks
// the same tape in the same order with the same gradient functions and accumulation, so it
// computes the same gradients bit for bit, and frees as it goes: a node's output gradients once the
// node has passed them on, the gradients it produced once they are summed into another, and
// (outside higher-order gradients, as tfjs does at the end) the tensors it saved.

interface TapeNode {
  id: number
  kernelName: string
  inputs: Record<string, tf.Tensor>
  outputs: tf.Tensor[]
  gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>
  saved?: tf.Tensor[]
}

/** The parts of tfjs-core's Engine that gradients() uses (its own public methods and tape state). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number }
  scopedRun<R>(start: () => void, end: () => void, f: () => R): R
  startTape(): void
  endTape(): void
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T
  gradients: Gradients
}

type Gradients = <T extends tf.Tensor>(f: () => T, xs: tf.Tensor[], dy?: T, allowNoGradients?: boolean) => { value: T; grads: tf.Tensor[] }

/**
 * The tape's nodes on a path from an `xs` tensor to `y`, in tape order, each with only the inputs
 * that come from `xs` (tfjs's getFilteredNodesXToY).
 */
function pathNodes(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id))
  const nodesFromX = new Set<number>()
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      for (const o of node.outputs) fromX.add(o.id)
      nodesFromX.add(node.id)
    }
  }
  const toY = new Set([y.id])
  const nodesToY = new Set<number>()
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const t of Object.values(node.inputs)) toY.add(t.id)
      nodesToY.add(node.id)
    }
  }
  return tape
    .filter((n) => nodesFromX.has(n.id) && nodesToY.has(n.id))
    .map((n) => ({ ...n, inputs: Object.fromEntries(Object.entries(n.inputs).filter(([, t]) => fromX.has(t.id))) }))
}

function freeingGradients(engine: EngineInternals, original: Gradients): Gradients {
  return <T extends tf.Tensor>(f: () => T, xs: tf.Tensor[], dy?: T, allowNoGradients = false) => {
    if (!kernelOptions().freeingBackprop) return original.call(engine, f, xs, dy, allowNoGradients) as { value: T; grads: tf.Tensor[] }
    if (xs.length === 0) throw new Error('gradients() received an empty list of xs.')
    if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`)
    const y = engine.scopedRun(() => engine.startTape(), () => engine.endTape(), () => engine.tidy('forward', f))
    if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.')
    const tape = engine.state.activeTape ?? []
    const nodes = pathNodes(tape, xs, y)
    if (!allowNoGradients && nodes.length === 0) {
      throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.')
    }
    // not inside another gradients() call's forward pass: no higher-order gradient reads the tape again
    const outermost = engine.state.gradientDepth === 0
    return engine.tidy('backward', () => {
      const seed = dy ?? tf.ones(y.shape)
      const grads = new Map<number, tf.Tensor>([[y.id, seed]])
      const wanted = new Set(xs.map((x) => x.id))
      const free = (t: tf.Tensor, held: ReadonlySet<tf.Tensor>): void => {
        if (t !== dy && !held.has(t)) t.dispose()
      }
      for (let i = nodes.length - 1; i >= 0; i--) {
        const node = nodes[i]!
        const dys = node.outputs.map((o) => grads.get(o.id) ?? null)
        if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`)
        const inputGradients = node.gradient(dys)
        const summed: tf.Tensor[] = []
        for (const [name, x] of Object.entries(node.inputs)) {
          if (!(name in inputGradients)) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`)
          const dx = tf.tidy(() => inputGradients[name]!())
          if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`)
          if (!tf.util.arraysEqual(dx.shape, x.shape)) throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`)
          const before = grads.get(x.id)
          if (before === undefined) grads.set(x.id, dx)
          else {
            grads.set(x.id, tf.add(before, dx))
            summed.push(before, dx)
          }
        }
        // what no later node reads: this node's output gradients (the xs' excepted), the parts summed
        for (const o of node.outputs) if (!wanted.has(o.id)) grads.delete(o.id)
        const held = new Set(grads.values())
        for (const t of [...dys, ...summed]) if (t) free(t, held)
        if (outermost) for (const t of node.saved ?? []) t.dispose()
      }
      const result = xs.map((x) => grads.get(x.id)!)
      if (outermost) {
        for (const node of tape) for (const t of node.saved ?? []) t.dispose()
        engine.state.activeTape = null
      }
      return { value: y, grads: result }
    })
  }
}

/** Replaces the engine's gradients() with the freeing walk (once); `freeingBackprop: false` runs tfjs's own. */
export function useFreeingBackprop(): void {
  const engine = tf.engine() as unknown as EngineInternals & { freeingBackprop?: boolean }
  if (engine.freeingBackprop) return
  engine.gradients = freeingGradients(engine, engine.gradients)
  engine.freeingBackprop = true
}
