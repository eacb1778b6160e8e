/**
 * JSON text as the `tojson` filter writes it, in @huggingface/jinja and in transformers (Python's
 * `json.dumps(…, ensure_ascii=False)`): `", "` between items, `": "` after keys, non-ASCII kept,
 * undefined as null. The ChatML fast path uses it to give the same text as the Jinja template.
 */
export function toJsonText(value: unknown): string {
  if (value === undefined) return 'null'
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(', ')}]`
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${toJsonText(v)}`).join(', ')}}`
  return JSON.stringify(value)
}
