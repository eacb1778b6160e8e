import { canonicalJson, type Json } from '@tunekit/core'
import type { ToolCall } from './turn.ts'

// JSON's number grammar, the whole string: "5", "-2.50", "1e3"; not "05", "5 ", "+5" or "0x10".
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/

/**
 * An argument value in the form slots are compared in: a string that is exactly a JSON number
 * becomes that number ("3" ≡ 3 ≡ 3.0), at every depth; lists keep their order; object keys are
 * sorted (by {@link canonicalJson} afterwards). Other strings, booleans and null stay as they are.
 */
export function canonicalValue(value: Json): Json {
  if (typeof value === 'string') return JSON_NUMBER.test(value) && Number.isFinite(Number(value)) ? Number(value) : value
  if (Array.isArray(value)) return value.map(canonicalValue)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonicalValue(v)]))
  // JSON.parse reads 1e400 as Infinity, which JSON cannot write back: compare it by its text
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  return value
}

/** The (argument name, canonical value) pairs of a turn's calls, as comparable strings (a multiset). */
export function slotsOf(calls: readonly ToolCall[]): string[] {
  return calls.flatMap((call) => Object.entries(call.arguments).map(([name, value]) => canonicalJson([name, canonicalValue(value)])))
}

/** Size of the multiset intersection of two lists of slots. */
export function matchedSlots(predicted: readonly string[], reference: readonly string[]): number {
  const left = new Map<string, number>()
  for (const slot of reference) left.set(slot, (left.get(slot) ?? 0) + 1)
  let matched = 0
  for (const slot of predicted) {
    const n = left.get(slot) ?? 0
    if (n > 0) {
      matched++
      left.set(slot, n - 1)
    }
  }
  return matched
}
