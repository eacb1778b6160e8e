import { familyInfo, familyNames } from './families/index.ts'
import { issue, type Issue } from './errors/tunekit-error.ts'
import type { FamilyInfo } from './families/types.ts'

/** The recipe parts the vision checks read (named here so this file imports no define.ts back). */
interface VisionParts {
  model?: { family?: string | undefined; vision?: { freezeTower?: boolean | undefined; freezeProjector?: boolean | undefined; projectorOnly?: boolean | undefined } | undefined } | undefined
  backend?: string | undefined
  method?: { kind?: string | undefined; targetModules?: unknown; modulesToSave?: unknown; trainableTokens?: unknown } | undefined
  lora?: { targetModules?: unknown; modulesToSave?: unknown; trainableTokens?: unknown } | undefined
}

// freeze's layer rule and LLaMA Pro's block expansion read a text decoder's `model.layers`; a
// vision-language model holds them under `model.language_model` (tunekit_torch/methods.py)
const LAYER_METHODS: Record<string, string> = {
  freeze: "its layer rule (LLaMA-Factory's freeze_trainable_layers) picks a text decoder's model.layers.<i>, which transformers' vision-language classes hold under model.language_model, so nothing of the language model would train",
  'llama-pro': "its block expansion copies a text decoder's model.layers, which transformers' vision-language classes hold under model.language_model (LLaMA-Factory's llama_pro.py expands text models only)",
}

/**
 * A vision-language family (LLaVA, Qwen2-VL) trains on the torch backend (transformers' own classes;
 * tfjs has none), with LoRA or full (freeze and LLaMA Pro are refused); `model.vision` says which of
 * its parts train (LLaMA-Factory's freeze_vision_tower, freeze_multi_modal_projector,
 * train_mm_proj_only), and LoRA may name only the modules of the parts that train.
 */
export function visionIssues({ model = {}, backend, method, lora }: VisionParts): Issue[] {
  const family = model.family === undefined ? undefined : familyInfo(model.family)
  if (!family) return []
  const vision = model.vision
  if (!family.vision) {
    return vision === undefined ? [] : [issue('VisionOptionsWithoutTower', { path: 'model.vision', value: vision, hintArgs: [visionFamilies()] }, family.name)]
  }
  const issues: Issue[] = []
  if (backend !== 'torch') issues.push(issue('VisionNeedsTorch', { path: 'backend', value: backend ?? 'auto' }, family.name, backend ?? 'auto'))
  const kind = method?.kind ?? 'lora'
  const layerRule = LAYER_METHODS[kind]
  if (layerRule !== undefined) issues.push(issue('VisionMethodUnsupported', { path: 'method.kind', value: kind }, kind, family.name, layerRule))
  else if (vision !== undefined && kind !== 'lora' && kind !== 'full') {
    issues.push(issue('VisionMethodUnsupported', { path: 'model.vision', value: vision }, kind, family.name, 'model.vision chooses what LoRA or full fine-tuning trains, and this method trains parts of its own'))
  }
  const freezeTower = vision?.freezeTower ?? true
  const projectorOnly = vision?.projectorOnly === true
  if (projectorOnly && vision?.freezeTower === false) issues.push(issue('VisionProjectorOnly', { path: 'model.vision.freezeTower', value: false, hintArgs: ['Remove freezeTower: false (projectorOnly keeps the tower frozen), or remove projectorOnly to train the tower with the rest.'] }, 'freezeTower: false trains the vision tower'))
  if (projectorOnly && vision?.freezeProjector === true) issues.push(issue('VisionProjectorOnly', { path: 'model.vision.freezeProjector', value: true, hintArgs: ['Remove one of the two: projectorOnly trains the projector that freezeProjector freezes.'] }, 'freezeProjector: true freezes the projector'))
  if (kind !== 'lora') return issues
  const at = method?.kind === undefined ? 'lora' : 'method'
  const options = method?.kind === undefined ? lora : method
  return [...issues, ...loraIssues(family, options ?? {}, at, { freezeTower, projectorOnly, freezeProjector: vision?.freezeProjector === true })]
}

const visionFamilies = (): string[] => familyNames.filter((f) => familyInfo(f)?.vision !== undefined)

/** LoRA's module names against the parts `model.vision` trains. */
function loraIssues(family: FamilyInfo, o: { targetModules?: unknown; modulesToSave?: unknown; trainableTokens?: unknown }, at: string, v: { freezeTower: boolean; projectorOnly: boolean; freezeProjector: boolean }): Issue[] {
  const parts = family.vision!
  const projector: readonly string[] = parts.projectorModules
  const issues: Issue[] = []
  const names = (list: unknown): Array<[string, number]> => (Array.isArray(list) ? list.flatMap((m, i): Array<[string, number]> => (typeof m === 'string' ? [[m, i]] : [])) : [])
  const language = family.linearModules.filter((m) => !projector.includes(m))
  for (const [m, i] of names(o.targetModules)) {
    const path = `${at}.targetModules[${i}]`
    if (v.freezeTower && parts.towerModules.includes(m) && !family.linearModules.includes(m)) {
      issues.push(issue('VisionTowerFrozen', { path, value: m, hintArgs: [family.name, family.linearModules] }, m, family.name))
    } else if (v.projectorOnly && !projector.includes(m)) {
      issues.push(issue('VisionProjectorOnly', { path, value: m, hintArgs: [`Target only the projector's linears (${projector.join(', ')}), or leave ${at}.targetModules out.`] }, `${at}.targetModules names ${JSON.stringify(m)}, which is not the projector's`))
    } else if (v.freezeProjector && projector.includes(m)) {
      issues.push(issue('VisionProjectorFrozen', { path, value: m, hintArgs: [family.name, language] }, m, family.name))
    }
  }
  for (const [m, i] of names(o.modulesToSave)) {
    const path = `${at}.modulesToSave[${i}]`
    if (v.projectorOnly && m !== parts.projector) {
      issues.push(issue('VisionProjectorOnly', { path, value: m, hintArgs: [`Save only ${JSON.stringify(parts.projector)} in full, or nothing.`] }, `${at}.modulesToSave names ${JSON.stringify(m)}, a part of the language model`))
    } else if (v.freezeProjector && m === parts.projector) {
      issues.push(issue('VisionProjectorFrozen', { path, value: m, hintArgs: [family.name, language] }, m, family.name))
    }
  }
  if (v.projectorOnly && o.trainableTokens !== undefined && o.trainableTokens !== false) {
    issues.push(issue('VisionProjectorOnly', { path: `${at}.trainableTokens`, value: o.trainableTokens, hintArgs: [`Set ${at}.trainableTokens: false.`] }, `${at}.trainableTokens trains rows of the language model's embeddings`))
  }
  return issues
}
