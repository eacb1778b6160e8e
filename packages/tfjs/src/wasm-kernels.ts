import * as tf from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import { kernelOptions } from './model/kernel-options.ts'

// tfjs-backend-wasm's Slice (and SplitV and Unpack, which call it) starts with readSync(x): a copy
// of the whole input out of the wasm heap into a fresh JS buffer, for every slice. Cutting a
// [n, 32000] tensor into 8 blocks copies it 8 times, cutting a [32, m, k] one into its 32 products'
// operands 32 times, and the short-lived JS buffers inflate the process's RSS. These replacements
// read the input through a view of the heap instead: the same values, one copy of the slice.

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }

/** A view of a tensor's data in the wasm heap; valid until the heap grows (take it after makeOutput). */
const view = (backend: BackendWasm, t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array => backend.typedArrayFromHeap(t) as Float32Array | Int32Array | Uint8Array

/** `x[begin : begin + size]` of a numeric tensor, copied row by row (the last axis is contiguous in both). */
function sliceOf(backend: BackendWasm, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype)
  const to = view(backend, out)
  if (to.length === 0) return out
  const from = view(backend, x)
  const strides = tf.util.computeStrides(x.shape)
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const at = tf.slice_util.computeFlatOffset(begin, strides)
    to.set(from.subarray(at, at + to.length))
    return out
  }
  const rank = x.shape.length
  const inner = size[rank - 1]!
  const outer = size.slice(0, -1)
  const outerStrides = [...tf.util.computeStrides(outer), 1] // of the output's rows
  for (let row = 0; row < to.length / inner; row++) {
    let rest = row
    let at = begin[rank - 1]!
    for (let d = 0; d < rank - 1; d++) {
      const i = Math.floor(rest / outerStrides[d]!)
      rest -= i * outerStrides[d]!
      at += (begin[d]! + i) * strides[d]!
    }
    to.set(from.subarray(at, at + inner), row * inner)
  }
  return out
}

function slice({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const x = inputs.x!
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs!.begin as number[], attrs!.size as number[])
  return sliceOf(backend as BackendWasm, x, begin!, size!)
}

function splitV({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const x = inputs.x!
  const axis = tf.util.parseAxisParam(attrs!.axis as number, x.shape)[0]!
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs!.numOrSizeSplits as number[] | number, axis)
  const begin = x.shape.map(() => 0)
  return sizes.map((s) => {
    const size = [...x.shape]
    size[axis] = s
    const part = sliceOf(backend as BackendWasm, x, [...begin], size)
    begin[axis]! += s
    return part
  })
}

function unpack({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const x = inputs.value!
  const rank = x.shape.length
  const axis = ((attrs!.axis as number) + rank) % rank
  const outShape = x.shape.filter((_, i) => i !== axis)
  const size = [...x.shape]
  size[axis] = 1
  return Array.from({ length: x.shape[axis]! }, (_, i) => {
    const begin = x.shape.map((_, d) => (d === axis ? i : 0))
    const part = sliceOf(backend as BackendWasm, x, begin, size)
    return { dataId: part.dataId, dtype: part.dtype, shape: outShape }
  })
}

/** Replaces the wasm Slice, SplitV and Unpack kernels (once); strings, and `heapSlices: false`, keep the package's own kernels. */
export function registerWasmSliceKernels(): void {
  const kernels: Array<[string, (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]]> = [[tf.Slice, slice], [tf.SplitV, splitV], [tf.Unpack, unpack]]
  for (const [name, numeric] of kernels) {
    const original = tf.getKernel(name, 'wasm')
    if (!original || original.kernelFunc.name === 'viaHeap') continue
    const viaHeap = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
      const x = args.inputs.x ?? args.inputs.value!
      return x.dtype === 'string' || !kernelOptions().heapSlices ? original.kernelFunc(args as Parameters<tf.KernelFunc>[0]) : numeric(args)
    }
    tf.unregisterKernel(name, 'wasm')
    tf.registerKernel({ ...original, kernelFunc: viaHeap as tf.KernelFunc })
  }
}
