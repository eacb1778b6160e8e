// `model.random.config` applied to a known checkpoint's config.json: the one rule of the model node
// (@tunekit/hf, which writes the random model) and of plan (which sizes it without writing it).

/**
 * config.json with `random.config` on top; a dotted key sets a field of a sub-config
 * (`'vision_config.image_size'`, `'text_config.hidden_size'`: a vision-language model's). `head_dim`
 * follows a changed width or head count unless it is given too.
 */
export function randomConfigJson(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(base)
  for (const [key, value] of Object.entries(overrides)) {
    const path = key.split('.')
    let at = out
    for (const part of path.slice(0, -1)) {
      const inner = at[part]
      at = at[part] = typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {}
    }
    at[path[path.length - 1]!] = value
  }
  for (const prefix of ['', 'text_config.']) {
    const sub = prefix === '' ? out : out.text_config
    const changed = ['hidden_size', 'num_attention_heads'].some((k) => `${prefix}${k}` in overrides)
    if (changed && !(`${prefix}head_dim` in overrides) && typeof sub === 'object' && sub !== null) delete (sub as Record<string, unknown>).head_dim
  }
  return out
}

