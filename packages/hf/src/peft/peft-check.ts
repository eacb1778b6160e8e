// The checks of an IA³ or prompt-learning (prompt, P-, prefix tuning) adapter folder from its config and the safetensors header
// (no tensor read), against the model it is applied to when given: every tensor one of the
// method's keys with its shape (ia3_l [out, 1] or [1, in]; prompt_embeddings [n, token_dim], prefix tuning's [n, layers · 2 · token_dim]),
// modules of the family, layers below num_hidden_layers. LoRA's checks are lora-check.ts.
import { familyInfo, issue, type Issue, type ModelConfig } from '@tunekit/core'
import { join } from 'node:path'
import { ia3Key, PROMPT_EMBEDDINGS, PROMPT_ENCODER } from './peft-keys.ts'
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './lora-keys.ts'

/** The model an adapter is applied to (lora-check.ts's AdapterBase). */
export interface PeftBase {
  family: string
  config: ModelConfig
}

const names = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [])
const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i])

// The prompt-learning types: the width of prompt_embeddings' rows from token_dim and num_layers, and
// whether token_dim is the key/value width (prefix tuning, PEFT's grouped-query rule) or hidden_size.
const PROMPT_LEARNING: Record<string, { name: string; width: (dim: number, layers: number) => number; says: string; kv: boolean }> = {
  PROMPT_TUNING: { name: 'prompt-tuning', width: (dim) => dim, says: 'num_virtual_tokens, token_dim', kv: false },
  P_TUNING: { name: 'P-tuning', width: (dim) => dim, says: 'num_virtual_tokens, token_dim', kv: false },
  PREFIX_TUNING: { name: 'prefix-tuning', width: (dim, layers) => layers * 2 * dim, says: 'num_virtual_tokens, num_layers × 2 × token_dim', kv: true },
}

/** Problems of an adapter whose peft_type is IA3 or a prompt-learning type; undefined for any other type (LoRA's checks apply). */
export function otherPeftIssues(dir: string, json: Record<string, unknown>, tensors: ReadonlyMap<string, { shape: readonly number[] }>, base?: PeftBase): Issue[] | undefined {
  const weights = join(dir, ADAPTER_WEIGHTS)
  const baseModel = typeof json.base_model_name_or_path === 'string' ? json.base_model_name_or_path : ''
  const malformed = (path: string, reason: string, file = weights): Issue => issue('MalformedAdapter', { path }, file, reason)
  const misfit = (path: string, reason: string): Issue => issue('AdapterModelMismatch', { path, hintArgs: [baseModel] }, weights, reason)
  const prompt = PROMPT_LEARNING[String(json.peft_type)]
  if (prompt) {
    const n = json.num_virtual_tokens
    const dim = json.token_dim
    const layers = json.num_layers
    if (typeof n !== 'number' || typeof dim !== 'number' || typeof layers !== 'number') return [malformed(join(dir, ADAPTER_CONFIG), 'num_virtual_tokens, token_dim and num_layers must be numbers', join(dir, ADAPTER_CONFIG))]
    const want = [n, prompt.width(dim, layers)]
    // a checkpoint also holds the prompt encoder's own tensors (PEFT's parameter names), to resume from
    const extra = [...tensors.keys()].filter((k) => k !== PROMPT_EMBEDDINGS && !k.startsWith(PROMPT_ENCODER))
    const embeddings = tensors.get(PROMPT_EMBEDDINGS)
    const issues: Issue[] = extra.map((k) => malformed(k, `${k} is not a tensor of a ${prompt.name} adapter (it holds ${PROMPT_EMBEDDINGS} only)`))
    if (!embeddings) issues.push(malformed(PROMPT_EMBEDDINGS, `the adapter has no ${PROMPT_EMBEDDINGS}`))
    else if (!same(embeddings.shape, want)) issues.push(malformed(PROMPT_EMBEDDINGS, `${PROMPT_EMBEDDINGS} is [${embeddings.shape.join(', ')}], but adapter_config.json says [${want.join(', ')}] (${prompt.says})`))
    if (base) {
      const { hiddenSize, headDim, numKeyValueHeads, numHiddenLayers } = base.config
      const modelDim = prompt.kv ? headDim * numKeyValueHeads : hiddenSize
      if (dim !== modelDim) issues.push(misfit(PROMPT_EMBEDDINGS, `token_dim is ${dim}, but the model's ${prompt.kv ? 'head_dim × num_key_value_heads' : 'hidden_size'} is ${modelDim}`))
      if (prompt.kv && layers !== numHiddenLayers) issues.push(misfit(PROMPT_EMBEDDINGS, `num_layers is ${layers}, but the model has ${numHiddenLayers} layers`))
    }
    return issues
  }
  if (json.peft_type !== 'IA3') return undefined
  const targets = names(json.target_modules)
  const feedforward = new Set(names(json.feedforward_modules))
  const family = base ? familyInfo(base.family) : undefined
  const issues: Issue[] = []
  for (const [key, t] of tensors) {
    const m = /^base_model\.model\.model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.ia3_l$/.exec(key)
    if (!m || ia3Key(m[2]!, Number(m[1])) !== key) {
      issues.push(malformed(key, `${key} is not an IA³ vector's key (base_model.model.model.layers.<i>.<self_attn|mlp>.<module>.ia3_l)`))
      continue
    }
    const [layer, module] = [Number(m[1]), m[2]!]
    if (!targets.includes(module)) issues.push(malformed(key, `${key} scales ${module}, which target_modules (${targets.join(', ')}) does not name`))
    if (!base || !family) continue
    if (!family.linearModules.includes(module)) issues.push(misfit(key, `${module} is not a module of the ${family.name} family`))
    else if (layer >= base.config.numHiddenLayers) issues.push(misfit(key, `layer ${layer}, but the model has ${base.config.numHiddenLayers} layers`))
    else {
      const [inF, outF] = family.linearShape(base.config, module)
      const want = feedforward.has(module) ? [1, inF] : [outF, 1]
      if (!same(t.shape, want)) issues.push(misfit(key, `${key} is [${t.shape.join(', ')}], but ${module} of this model needs [${want.join(', ')}]`))
    }
  }
  if (tensors.size === 0) issues.push(malformed(weights, 'the adapter holds no ia3_l vector'))
  return issues
}
