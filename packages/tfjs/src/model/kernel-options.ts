/**
 * Switches for the wasm-friendly kernels, all on by default. Off, each falls back to the plain
 * tfjs formulation it replaced (the reference the parity tests and `bench/tfjs-speed.ts` compare
 * against, in the same process); results agree within float round-off either way.
 */
export interface KernelOptions {
  /** Batched products (attention) as one 2-D product per batch entry on wasm, whose batched kernel is a scalar loop while XNNPACK takes 2-D products. */
  splitBatchedMatMul: boolean
  /** Next-token cross-entropy fused with the lm_head product, in vocabulary blocks, the softmax kept from the forward pass for the backward. */
  fusedHeadLoss: boolean
  /** wasm's Slice, SplitV and Unpack reading their input through a view of the heap, not a copy of the whole input per slice (wasm-kernels.ts). */
  heapSlices: boolean
  /** AdamW updating the parameter and its two moments in place in the wasm heap, one pass (optimizer.ts), instead of ≈ 13 tensor-sized temporaries per trained tensor. */
  inPlaceAdam: boolean
  /** The backward pass freeing each saved tensor and intermediate gradient once it is used (backprop.ts), instead of tfjs-core's walk that holds them all until the end. */
  freeingBackprop: boolean
}

const options: KernelOptions = { splitBatchedMatMul: true, fusedHeadLoss: true, heapSlices: true, inPlaceAdam: true, freeingBackprop: true }

/** The current switches (a copy). */
export const kernelOptions = (): Readonly<KernelOptions> => ({ ...options })

/** Sets some switches; returns the previous ones so a caller can restore them. */
export function setKernelOptions(next: Partial<KernelOptions>): KernelOptions {
  const previous = { ...options }
  Object.assign(options, next)
  return previous
}
