import { tf } from './engine.ts'

/** The process's real memory, beside what tf.memory() counts. */
export interface ProcessMemory {
  /** Resident set size now (bytes): what the operating system holds for the process. */
  rssBytes: number
  /** The largest resident set size so far (bytes; `process.resourceUsage().maxRSS`). */
  peakRssBytes: number
  /**
   * The wasm engine's linear memory (bytes), part of the RSS once touched. It grows to the
   * high-water mark of live tensors plus the allocator's fragmentation and XNNPACK's packed
   * weights, and WebAssembly never gives it back (capped at 4 GiB). Absent on other engines.
   */
  wasmHeapBytes?: number
  /** Bytes of live tensors (tf.memory().numBytes). */
  tensorBytes: number
}

/** The process's memory now: RSS, its peak, the wasm heap (on wasm) and the live tensors. */
export function processMemory(): ProcessMemory {
  const rssBytes = process.memoryUsage.rss()
  const peakRssBytes = Math.max(rssBytes, process.resourceUsage().maxRSS * 1024) // maxRSS is in KiB
  const tensorBytes = tf.memory().numBytes
  if (tf.getBackend() !== 'wasm') return { rssBytes, peakRssBytes, tensorBytes }
  // the Emscripten module's heap view (its type comes from @types/emscripten, which tfjs-backend-wasm does not ship)
  const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength
  return { rssBytes, peakRssBytes, wasmHeapBytes: heap, tensorBytes }
}
