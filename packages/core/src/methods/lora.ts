import { z } from 'zod'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import type { CheckModel, MethodDefinition } from './types.ts'
import { allLinearModules, defaultTargetModules, visionTrainingOf } from '../vision-training.ts'

// LoRA (Hu et al., 2021): W' = W + (alpha / r) · B·A with A [r, in], B [out, r] trained and W frozen;
// rsLoRA scales by alpha / √r. The options are PEFT's LoraConfig fields in camelCase.

/** PEFT's LoftQConfig, camelCase (`lora.loftqConfig`). */
export const loftqConfigSchema = z.strictObject({
  /**
   * Bits of the quantised residual: 4 (NF4, blocks of 64) or 8 (int8 per row).
   * @defaultValue 4
   * @see https://huggingface.co/docs/peft/package_reference/loftq (loftq_bits)
   */
  loftqBits: z.union([z.literal(4), z.literal(8)]).default(4),
  /**
   * Alternating quantise / low-rank steps; the paper uses 1 to 5.
   * @defaultValue 1
   * @see https://huggingface.co/docs/peft/package_reference/loftq (loftq_iter)
   */
  loftqIter: z.number().int().positive().default(1),
})

export const loraSchema = z.strictObject({
  /**
   * Rank r of the low-rank update B·A. Adapter memory and trainable parameters grow linearly
   * with it; the QLoRA paper finds quality insensitive to r once all linear layers are adapted.
   * @defaultValue 8
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (r)
   */
  rank: z.number().int().positive().default(8),
  /**
   * Scaling numerator: the update is `(alpha / rank) · B·A` (`alpha / √rank` with rsLora). Higher
   * alpha acts like a higher learning rate for the adapter; no memory effect.
   * @defaultValue 8
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (lora_alpha)
   */
  alpha: z.number().positive().default(8),
  /**
   * Dropout on the adapter's input during training; regularises small data sets. No memory effect
   * beyond one mask per adapted layer.
   * @defaultValue 0
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (lora_dropout)
   */
  dropout: z.number().min(0).max(1).default(0),
  /**
   * Linear modules that get an adapter, by name (`q_proj`, `v_proj`, …) or `'all-linear'`. More
   * modules: more trainable parameters and better quality (QLoRA adapts all of them).
   * @defaultValue the family's PEFT default (`['q_proj', 'v_proj']` for llama and mistral)
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (target_modules)
   */
  targetModules: z.union([z.literal('all-linear'), z.array(z.string().min(1)).min(1)]).optional(),
  /**
   * Modules trained in full and saved with the adapter, e.g. `embed_tokens` and `lm_head` when
   * tokens are added. Each costs its full size in weights, gradients and optimizer states.
   * @defaultValue []
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (modules_to_save)
   */
  modulesToSave: z.array(z.string().min(1)).default([]),
  /**
   * Train only the embedding rows of these tokens (`true`: the tokens the recipe adds) instead of
   * the whole embedding: a few KB of trainable state instead of hundreds of MB.
   * @defaultValue false
   * @see https://huggingface.co/docs/peft/package_reference/trainable_tokens
   */
  trainableTokens: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
  /**
   * Rank-stabilised LoRA: scale by `alpha / √rank` instead of `alpha / rank`, which keeps high
   * ranks learning. No memory effect.
   * @defaultValue false
   * @see https://arxiv.org/abs/2312.03732 (rsLoRA), PEFT use_rslora
   */
  rsLora: z.boolean().default(false),
  /**
   * DoRA: split each adapted weight into a trained magnitude per output row and a direction
   * `W + scale·B·A`, so `W' = m · (W + scale·B·A) / ‖W + scale·B·A‖` (row norms, no gradient through
   * the norm). Memory: one extra `[out]` vector per adapted module (and its gradient and AdamW
   * moments), plus the row norms of the `[out, in]` matrix `W + scale·B·A` computed every step, which
   * also costs time; the paper finds it closer to full fine-tuning than LoRA at the same rank, most at
   * low ranks.
   * @defaultValue false
   * @see https://arxiv.org/abs/2402.09353 (DoRA),
   *   https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (use_dora)
   */
  useDora: z.boolean().default(false),
  /**
   * LoRA+: the B matrices (and every trained 1-D tensor) learn at this multiple of
   * `args.learningRate`, A and saved modules at the rate itself, as PEFT's
   * `create_loraplus_optimizer` groups them; the paper's 16 speeds up fine-tuning (up to ~2× to the
   * same loss) at no memory cost. Unset: one rate for every tensor. Set it with the learning rate:
   * the paper suggests halving a plain LoRA rate.
   * @defaultValue undefined (plain LoRA)
   * @see https://arxiv.org/abs/2402.12354 (LoRA+),
   *   https://huggingface.co/docs/peft/developer_guides/lora#lora-optimized-lora (create_loraplus_optimizer),
   *   https://github.com/hiyouga/LLaMA-Factory/blob/main/src/llamafactory/hparams/finetuning_args.py (loraplus_lr_ratio)
   */
  loraplusLrRatio: z.number().positive().optional(),
  /**
   * Start values of the adapter: `'default'` draws A Kaiming-uniform (PEFT's default) and
   * `'gaussian'` from N(0, 1/r), both with B = 0 so training starts from the base model exactly;
   * any other string is the folder of an existing PEFT adapter (relative to the recipe's folder) to
   * continue training from (a warm start), whose adapter_config.json must match rank, alpha,
   * target modules, modules to save, rsLora and useDora. No memory effect.
   * @defaultValue 'default'
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (init_lora_weights),
   *   https://llamafactory.readthedocs.io/en/latest/advanced/arguments.html (adapter_name_or_path)
   */
  init: z.union([z.enum(['default', 'gaussian']), z.string().min(1)]).default('default'),
  /**
   * How A and B start (PEFT's `init_lora_weights`). `true`: as `init` says (B = 0, training starts
   * at the base model). `'pissa'`: PiSSA, A and B from the top-`rank` singular vectors of each
   * adapted weight W (`B·A = U_r S_r V_rᵀ / scale`) and the base replaced by the residual
   * `W − scale·B·A`, so the model starts unchanged but trains the principal directions: faster
   * convergence and better final quality than LoRA at the same rank in the paper; a full SVD of
   * every adapted matrix before step 1 (time, no lasting memory). `'pissa_niter_N'`: the same from a
   * randomised SVD with N subspace iterations (torch; tfjs computes the exact SVD). The adapter is
   * written converted to a plain rank-2r LoRA of the unmodified base (PEFT's
   * `path_initial_model_for_weight_conversion`). `'loftq'`: LoftQ, only with `model.quantize`: A and B
   * fit the quantisation error of W (`loftqConfig`), the base replaced by the quantised residual,
   * which recovers much of the quality QLoRA loses at 4 bits; the artifact keeps that replaced base
   * beside the adapter (`loftq_base.safetensors`: every adapted weight in float32, that part of the
   * model unquantised on disk). torch needs bitsandbytes on CUDA for it (TK389); tfjs runs it on the
   * CPU. Same trainable count as LoRA.
   * @defaultValue true
   * @see https://arxiv.org/abs/2404.02948 (PiSSA), https://arxiv.org/abs/2310.08659 (LoftQ),
   *   https://huggingface.co/docs/peft/developer_guides/lora#initialization (init_lora_weights)
   */
  initLoraWeights: z.union([z.literal(true), z.literal('pissa'), z.templateLiteral(['pissa_niter_', z.number().int().positive()]), z.literal('loftq')]).default(true),
  /**
   * LoftQ's quantiser (PEFT's `LoftQConfig`), only with `initLoraWeights: 'loftq'`: `loftqBits` the
   * bits of the quantised residual (4: NF4 in blocks of 64; 8: int8 per row) and `loftqIter` the
   * alternating quantise / SVD steps (more: a smaller quantisation error, each an SVD per adapted
   * matrix before step 1). No lasting memory effect.
   * @defaultValue undefined (`{ loftqBits: 4, loftqIter: 1 }` with LoftQ)
   * @see https://arxiv.org/abs/2310.08659 (LoftQ), https://huggingface.co/docs/peft/package_reference/loftq
   */
  loftqConfig: loftqConfigSchema.optional(),
})

export type LoraInput = z.input<typeof loraSchema>
export type LoraOptions = z.output<typeof loraSchema>

/** `method: { kind: 'lora', … }`: the same options as the recipe's `lora` key. */
export const loraMethodSchema = z.strictObject({
  /**
   * LoRA: low-rank adapters on the linear layers, the base frozen. The same as writing the `lora` key.
   * Trainable state is a few MB; the base weights can be quantised (QLoRA).
   * @defaultValue 'lora' (when `method` is left out)
   * @see https://arxiv.org/abs/2106.09685 (LoRA)
   */
  kind: z.literal('lora'),
  ...loraSchema.shape,
})

const INPUT_OF: Record<string, string> = { q_proj: 'norm1', k_proj: 'norm1', v_proj: 'norm1', qkv_proj: 'norm1', o_proj: 'attn', gate_proj: 'norm2', up_proj: 'norm2', gate_up_proj: 'norm2', down_proj: 'mlp' }

/** Model-aware checks of LoRA options at `at` (`lora` or `method`). */
function check(lora: Partial<z.output<typeof loraMethodSchema>>, model: CheckModel, at: string): Issue[] {
  const { family } = model
  const issues: Issue[] = []
  const { targetModules, modulesToSave } = lora
  // family 'auto': the names are the folder's, checked by plan against its weights (AutoModuleNotFound)
  if (Array.isArray(targetModules) && !family.probed) {
    targetModules.forEach((m, i) => {
      if (family.expertModules?.includes(m)) issues.push(issue('MoeModulesUnsupported', { path: `${at}.targetModules[${i}]`, value: m }, `LoRA on ${m}`, family.name))
      // a vision tower's own module is VisionTowerFrozen (vision-issues.ts)
      else if (!family.linearModules.includes(m) && !family.vision?.towerModules.includes(m)) {
        issues.push(issue('UnknownModule', { path: `${at}.targetModules[${i}]`, value: m, hintArgs: [family.name] }, m, family.name, family.linearModules))
      }
    })
  }
  modulesToSave?.forEach((m, i) => {
    if (!family.probed && !family.saveableModules.includes(m)) {
      issues.push(issue('UnknownModule', { path: `${at}.modulesToSave[${i}]`, value: m, hintArgs: [family.name] }, m, family.name, family.saveableModules))
    }
  })
  if (modulesToSave && lora.trainableTokens !== undefined) {
    const trainsEmbeddings = modulesToSave.includes('embed_tokens') || lora.trainableTokens !== false
    if (model.addedTokens.length > 0 && !trainsEmbeddings) {
      issues.push(issue('AddedTokensNeedEmbeddings', { path: `${at}.modulesToSave`, value: modulesToSave }, model.addedTokens))
    }
  }
  if (modulesToSave?.includes('embed_tokens') && lora.trainableTokens !== undefined && lora.trainableTokens !== false) {
    issues.push(issue('TrainableTokensWithSavedEmbeddings', { path: `${at}.trainableTokens`, value: lora.trainableTokens }))
  }
  return [...issues, ...initIssues(lora, model, at)]
}

/** PiSSA / LoftQ start values against the rest of the options (PEFT refuses the same combinations). */
function initIssues(lora: Partial<z.output<typeof loraMethodSchema>>, model: CheckModel, at: string): Issue[] {
  const init = lora.initLoraWeights ?? true
  const path = `${at}.initLoraWeights`
  const issues: Issue[] = []
  if (lora.loftqConfig !== undefined && init !== 'loftq') issues.push(issue('LoftqConfigWithoutLoftq', { path: `${at}.loftqConfig`, value: lora.loftqConfig }, init))
  if (init === true) return issues
  if (lora.init !== undefined && lora.init !== 'default') issues.push(issue('LoraInitConflict', { path: `${at}.init`, value: lora.init }, init, lora.init))
  if (lora.useDora === true) issues.push(issue('LoraInitWithDora', { path, value: init }, init))
  if (init === 'loftq' && !model.quantized) issues.push(issue('LoftqNeedsQuantize', { path, value: init }))
  if (init !== 'loftq' && model.quantized) issues.push(issue('PissaWithQuantize', { path, value: init }, init))
  return issues
}

/** The module names LoRA adapts: the recipe's list, every linear for `'all-linear'`, else the family's defaults. */
export const targetsOf = (lora: LoraOptions, linear: readonly string[], defaults: readonly string[]): readonly string[] =>
  lora.targetModules === undefined ? defaults : lora.targetModules === 'all-linear' ? linear : lora.targetModules

export const lora = {
  schema: loraMethodSchema,
  check,
  /**
   * LoRA adds `r × (in + out)` per targeted module per layer (A is `[r, in]`, B is `[out, r]`), and
   * DoRA `out` more (the magnitude vector); a saved module is trained in full; trainable tokens
   * train `rows × hidden`.
   */
  count: (o, { family, config: c, addedTokens, vision }) => {
    const all = targetsOf(o, allLinearModules(family, vision), defaultTargetModules(family, vision))
    // a vision-language model's projector modules are one each, not one a layer
    const once = all.filter((m) => family.vision?.projectorModules.includes(m))
    const targets = all.filter((m) => !once.includes(m) && family.linearModules.includes(m))
    // a trained tower's linears, one of each a tower layer (LLaVA's CLIP q/k/v_proj beside the decoder's)
    const tower = family.vision && !visionTrainingOf(vision).freezeTower ? all.filter((m) => family.vision!.towerModules.includes(m)) : []
    const towerShapes = tower.map((m) => family.vision!.towerLinearShape(c, m))
    const towerLayers = tower.length > 0 ? family.vision!.towerLayers(c) : 0
    // every module a name matches (bert's `dense` is three a layer)
    const shapes = targets.flatMap((m) => family.linearShapes(c, m))
    const onceShapes = once.flatMap((m) => family.linearShapes(c, m))
    const adapted = (list: ReadonlyArray<readonly [number, number]>): number => list.reduce((sum, [inF, outF]) => sum + o.rank * (inF + outF), 0)
    const outs = (list: ReadonlyArray<readonly [number, number]>): number => list.reduce((sum, [, outF]) => sum + outF, 0)
    const perLayer = adapted(shapes)
    const magnitudes = o.useDora ? c.numHiddenLayers * outs(shapes) + outs(onceShapes) + towerLayers * outs(towerShapes) : 0
    const modulesToSave = o.modulesToSave.reduce((sum, m) => sum + family.moduleParams(c, m), 0)
    const rows = o.trainableTokens === false ? 0 : o.trainableTokens === true ? addedTokens : o.trainableTokens.length
    const trainableTokens = o.modulesToSave.includes('embed_tokens') ? 0 : rows * c.hiddenSize
    const adapters = c.numHiddenLayers * perLayer + adapted(onceShapes) + towerLayers * adapted(towerShapes)
    const trainable = adapters + magnitudes + modulesToSave + trainableTokens
    // LoftQ's artifact keeps the replaced base of every adapted weight [out, in] beside the adapter (hf's peft/loftq.ts)
    const loftqBase = o.initLoraWeights === 'loftq' ? c.numHiddenLayers * shapes.reduce((sum, [inF, outF]) => sum + inF * outF, 0) : 0
    return { trainable, inBase: false, parts: { lora: adapters, doraMagnitudes: magnitudes, modulesToSave, trainableTokens }, ...(loftqBase > 0 ? { artifact: trainable + loftqBase } : {}) }
  },
  // A keeps its input, B keeps A's output [r] in fp32. Without a cast (fp32 model) and without
  // dropout, A's input is the layer's own tensor, shared by the modules reading it; otherwise each
  // module keeps its own fp32 copy (the dropout output) plus the dropout mask. DoRA's magnitude
  // gradient keeps the module's base product [out] (compute dtype) and its fp32 LoRA product [out].
  activationBytes: (o, { family, config: c, computeBytes: p, attention, maskBytes }) => {
    // the language model's and projector's modules (a trained tower's activations are not modelled: docs/multimodal.md)
    const targets = targetsOf(o, family.linearModules, family.defaultTargetModules).filter((m) => family.linearModules.includes(m))
    const shared = p === 4 && o.dropout === 0
    const inputs = new Set(targets.map((m) => INPUT_OF[m] ?? m))
    const h = c.hiddenSize
    const q = c.numAttentionHeads * c.headDim
    const perLayer = targets.reduce((sum, m) => {
      const [inF] = family.linearShape(c, m)
      return sum + 4 * o.rank + (o.useDora ? (p + 4) * family.linearShape(c, m)[1] : 0) + (shared ? 0 : 4 * inF + (o.dropout > 0 ? maskBytes * inF : 0))
    }, 0) + (shared ? 4 * ((inputs.has('norm1') ? h : 0) + (inputs.has('norm2') ? h : 0) + (inputs.has('mlp') ? c.intermediateSize : 0) + (inputs.has('attn') && attention === 'eager' ? q : 0)) : 0)
    return c.numHiddenLayers * perLayer
  },
} satisfies MethodDefinition<typeof loraMethodSchema>
