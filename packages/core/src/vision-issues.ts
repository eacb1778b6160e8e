import { familyInfo } from './families/index.ts'
import { issue, type Issue } from './errors/tunekit-error.ts'

/** The recipe parts the vision checks read (named here so this file imports no define.ts back). */
interface VisionParts {
  model?: { family?: string | undefined } | undefined
  backend?: string | undefined
  method?: { kind?: string | undefined; targetModules?: unknown } | undefined
  lora?: { targetModules?: unknown } | undefined
}

/**
 * A vision-language family (LLaVA, Qwen2-VL) trains on the torch backend (transformers' own classes;
 * tfjs has none), so backend must say 'torch'; LoRA may not target a module of its frozen vision
 * tower alone (LLaVA's CLIP q/k/v_proj share the decoder's names, which then adapt the language model).
 */
export function visionIssues({ model = {}, backend, method, lora }: VisionParts): Issue[] {
  const family = model.family === undefined ? undefined : familyInfo(model.family)
  if (!family?.vision) return []
  const issues: Issue[] = []
  if (backend !== 'torch') issues.push(issue('VisionNeedsTorch', { path: 'backend', value: backend ?? 'auto' }, family.name, backend ?? 'auto'))
  const at = method?.kind === undefined ? 'lora' : 'method'
  const targets = method?.kind === undefined ? lora?.targetModules : method.kind === 'lora' ? method.targetModules : undefined
  if (Array.isArray(targets)) {
    targets.forEach((m, i) => {
      if (typeof m === 'string' && family.vision!.towerModules.includes(m) && !family.linearModules.includes(m)) {
        issues.push(issue('VisionTowerFrozen', { path: `${at}.targetModules[${i}]`, value: m, hintArgs: [family.name, family.linearModules] }, m, family.name))
      }
    })
  }
  return issues
}
