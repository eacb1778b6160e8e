import { z } from 'zod'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import type { FamilyInfo, ModelConfig } from '../families/types.ts'
import type { CheckModel, MethodDefinition } from './types.ts'

// IA³ (Liu et al., 2022): a learned vector per targeted linear module rescales its output
// (`y = (x Wᵀ + b) ⊙ l`, l [out]) or, for a feed-forward module, its input (`y = (x ⊙ l) Wᵀ + b`,
// l [in]); every l starts at 1, so training starts from the base model exactly. The options are
// PEFT's IA3Config fields in camelCase; merging folds l into W (and b).

export const ia3Schema = z.strictObject({
  /**
   * IA³: learned scaling vectors on a few linear modules, the base frozen. The fewest trainable
   * parameters of the adapter methods (one value per output or input feature of each targeted module,
   * ~0.01% of a model), so the least optimizer memory; mergeable into the weights.
   * @defaultValue 'lora' (when `method` is left out)
   * @see https://arxiv.org/abs/2205.05638 (IA³), https://huggingface.co/docs/peft/package_reference/ia3
   */
  kind: z.literal('ia3'),
  /**
   * Linear modules that get a scaling vector, by name (`k_proj`, `v_proj`, `down_proj`, …). More
   * modules: more trainable values (still tiny) and more capacity.
   * @defaultValue the family's PEFT default (`['k_proj', 'v_proj', 'down_proj']` for llama and mistral, `['q_proj', 'v_proj', 'down_proj']` for qwen2)
   * @see https://huggingface.co/docs/peft/package_reference/ia3#peft.IA3Config (target_modules)
   */
  targetModules: z.array(z.string().min(1)).min(1).optional(),
  /**
   * Targeted modules whose input (not output) is scaled, as the paper scales the feed-forward
   * activations; must be among `targetModules`. A feed-forward vector has the module's input width.
   * @defaultValue the family's PEFT default (`['down_proj']`) when `targetModules` is left out, else []
   * @see https://huggingface.co/docs/peft/package_reference/ia3#peft.IA3Config (feedforward_modules)
   */
  feedforwardModules: z.array(z.string().min(1)).optional(),
})

export type Ia3Options = z.output<typeof ia3Schema>

/** PEFT's TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING / …_FEEDFORWARD_MODULES_MAPPING for tunekit's decoder families. */
const PEFT_DEFAULTS: Record<string, { targets: readonly string[]; feedforward: readonly string[] }> = {
  llama: { targets: ['k_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
  mistral: { targets: ['k_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
  qwen2: { targets: ['q_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
  // yi's checkpoints are llama's (PEFT keys the table by model_type); PEFT's mixtral row (k_proj,
  // v_proj, w2) scales an expert projection, which tunekit does not adapt: attention only
  yi: { targets: ['k_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
  mixtral: { targets: ['k_proj', 'v_proj'], feedforward: [] },
}

/** The modules IA³ scales and which of them scale their input: the recipe's, else PEFT's defaults for the family. */
export function ia3Modules(o: { readonly targetModules?: readonly string[] | undefined; readonly feedforwardModules?: readonly string[] | undefined }, family: string): { targets: readonly string[]; feedforward: readonly string[] } {
  const defaults = PEFT_DEFAULTS[family] ?? { targets: [], feedforward: [] }
  if (o.targetModules === undefined) return { targets: defaults.targets, feedforward: o.feedforwardModules ?? defaults.feedforward }
  return { targets: o.targetModules, feedforward: o.feedforwardModules ?? [] }
}

/**
 * An adapter method that trains no embedding rows: the recipe's added tokens keep their start
 * vectors (the resized rows). A warning, not an error: ChatML's markers are inputs the adapted
 * layers learn to read, though the model cannot learn to emit them better than it starts.
 */
export function addedTokensUntrained(model: CheckModel, at: string, kind: string): Issue[] {
  if (model.addedTokens.length === 0) return []
  return [issue('AddedTokensNeedEmbeddings', { path: `${at}.kind`, value: kind, severity: 'warning', hintArgs: [`method '${kind}' trains no embedding rows: add no tokens (tokens.chatml: false, no tokens.add) with a tokenizer that has its own chat template, or train LoRA with lora.trainableTokens: true.`] }, model.addedTokens)]
}

function check(o: Partial<Ia3Options>, model: CheckModel, at: string): Issue[] {
  const { family } = model
  const issues: Issue[] = [...addedTokensUntrained(model, at, 'ia3')]
  const known = (names: readonly string[] | undefined, key: string) =>
    names?.forEach((m, i) => {
      if (family.expertModules?.includes(m)) issues.push(issue('MoeModulesUnsupported', { path: `${at}.${key}[${i}]`, value: m }, `IA³ on ${m}`, family.name))
      else if (!family.linearModules.includes(m)) issues.push(issue('UnknownModule', { path: `${at}.${key}[${i}]`, value: m, hintArgs: [family.name] }, m, family.name, family.linearModules))
    })
  known(o.targetModules, 'targetModules')
  known(o.feedforwardModules, 'feedforwardModules')
  if (o.feedforwardModules !== undefined && family.kind === 'decoder') {
    const { targets } = ia3Modules(o, family.name)
    o.feedforwardModules.forEach((m, i) => {
      if (family.linearModules.includes(m) && !targets.includes(m)) issues.push(issue('Ia3FeedforwardNotTarget', { path: `${at}.feedforwardModules[${i}]`, value: m }, m, targets))
    })
  }
  return issues
}

/** Per decoder layer: a targeted module's vector has its input width when feed-forward, else its output width. */
function perLayer(o: Ia3Options, family: FamilyInfo, c: ModelConfig): number {
  const { targets, feedforward } = ia3Modules(o, family.name)
  return targets.reduce((sum, m) => {
    const [inF, outF] = family.linearShape(c, m)
    return sum + (feedforward.includes(m) ? inF : outF)
  }, 0)
}

export const ia3 = {
  schema: ia3Schema,
  check,
  count: (o, { family, config }) => {
    const vectors = config.numHiddenLayers * perLayer(o, family, config)
    return { trainable: vectors, inBase: false, parts: { ia3: vectors } }
  },
  // dl needs the module's unscaled output [out] (fp32) or, feed-forward, its input [in]: the
  // values perLayer counts, 4 bytes each, per token.
  activationBytes: (o, { family, config }) => config.numHiddenLayers * 4 * perLayer(o, family, config),
} satisfies MethodDefinition<typeof ia3Schema>
