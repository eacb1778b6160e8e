// JSON values and their canonical text: a leaf module (no imports), so that the graph's hashing and
// the recipe checks before compile (chain-input.ts) share it without an import cycle.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/**
 * JSON with object keys sorted at every level and `undefined` dropped, so that two equal values
 * always give the same text (and so the same hash), whatever order their keys were written in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(toCanonical(value))
}

function toCanonical(value: unknown): Json {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot hash the non-finite number ${value}`)
    return value
  }
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toCanonical(v)))
  if (typeof value === 'object') {
    const out: { [key: string]: Json } = {}
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key]
      if (v !== undefined) out[key] = toCanonical(v)
    }
    return out
  }
  throw new TypeError(`cannot hash a value of type ${typeof value}`)
}

/** A plain JSON copy of a value (recipe groups are frozen and may hold `undefined`). */
export const toJson = (value: unknown): Json => toCanonical(value)
