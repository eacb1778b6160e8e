import { issue, type Issue } from './errors/tunekit-error.ts'
import { familyInfo, familyNames } from './families/index.ts'

/** Methods and stages that run with family 'auto': they read no module of a known layout. */
const AUTO_METHODS = ['lora', 'full']
const AUTO_STAGES = ['sft', 'pretrain']

/** The recipe parts the checks of family 'auto' read (named here so that this file imports no define.ts back). */
interface AutoParts {
  model?: { family?: string | undefined; random?: unknown } | undefined
  backend?: string | undefined
  stage?: { kind?: string | undefined } | undefined
  method?: { kind?: string | undefined; targetModules?: unknown; trainableTokens?: unknown } | undefined
  lora?: { targetModules?: unknown; trainableTokens?: unknown } | undefined
  output?: { gguf?: readonly unknown[] | undefined } | undefined
}

/**
 * `family: 'auto'`: the torch backend (transformers' AutoModelForCausalLM), a model folder to read
 * the modules from, LoRA with its module names listed or full fine-tuning, stage sft or pretrain.
 * The names themselves are checked against the folder's weights by `plan` (AutoModuleNotFound).
 */
export function autoIssues({ model, backend, stage, method, lora, output }: AutoParts): Issue[] {
  if (model?.family !== 'auto') return []
  const issues: Issue[] = []
  // the families both backends run: decoders with a fixed layout and no vision tower (llava and qwen2_vl are torch-only too)
  const native = familyNames.filter((f) => { const info = familyInfo(f); return info?.kind === 'decoder' && !info.probed && info.vision === undefined })
  if ((backend ?? 'auto') !== 'torch') issues.push(issue('AutoNeedsTorch', { path: 'backend', value: backend ?? 'auto', hintArgs: [native] }, backend ?? 'auto'))
  if (model.random !== undefined) issues.push(issue('AutoNeedsWeights', { path: 'model.random', value: model.random }))
  const kind = method?.kind ?? 'lora'
  if (!AUTO_METHODS.includes(kind)) issues.push(issue('AutoUnsupported', { path: 'method.kind', value: kind }, `method '${kind}'`))
  const stageKind = stage?.kind ?? 'sft'
  if (!AUTO_STAGES.includes(stageKind)) issues.push(issue('AutoUnsupported', { path: 'stage.kind', value: stageKind }, `stage '${stageKind}'`))
  // the GGUF writer names llama-style tensors (model.layers.<i>.self_attn.q_proj, …)
  if ((output?.gguf ?? []).length > 0) issues.push(issue('AutoUnsupported', { path: 'output.gguf', value: output?.gguf }, 'output.gguf'))
  if (kind === 'lora') {
    const at = method?.kind === 'lora' ? 'method' : 'lora'
    const targets = method?.kind === 'lora' ? method.targetModules : lora?.targetModules
    // trainable tokens name the input embedding `embed_tokens`, which an 'auto' checkpoint need not call it
    const tokens = method?.kind === 'lora' ? method.trainableTokens : lora?.trainableTokens
    if (tokens !== undefined && tokens !== false) issues.push(issue('AutoUnsupported', { path: `${at}.trainableTokens`, value: tokens }, `${at}.trainableTokens`))
    if (!Array.isArray(targets)) issues.push(issue('AutoNeedsTargetModules', { path: `${at}.targetModules`, value: targets ?? null }, targets === undefined ? 'targetModules left out (PEFT\'s default table)' : `targetModules ${JSON.stringify(targets)}`))
  }
  return issues
}
