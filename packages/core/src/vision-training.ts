// What of a vision-language model trains (the recipe's `model.vision`, LLaMA-Factory's
// freeze_vision_tower / freeze_multi_modal_projector / train_mm_proj_only), read in one place by
// parseRecipe (what 'all-linear' and the default targets mean), the methods' counts, the adapter's
// exclude_modules and the checks.
import type { FamilyInfo } from './families/types.ts'
import type { VisionTraining } from './schema/model.ts'

/** `model.vision` left out: the tower frozen, the projector and the language model trained. */
export const defaultVisionTraining: VisionTraining = { freezeTower: true, freezeProjector: false, projectorOnly: false }

export const visionTrainingOf = (v: VisionTraining | undefined): VisionTraining => v ?? defaultVisionTraining

/** The module names `'all-linear'` adapts: the language model's (unless projectorOnly), the projector's (unless frozen), the tower's (when it trains). */
export function allLinearModules(family: FamilyInfo, vision?: VisionTraining): readonly string[] {
  if (!family.vision) return family.linearModules
  const v = visionTrainingOf(vision)
  const projector: readonly string[] = family.vision.projectorModules
  const language = family.linearModules.filter((m) => !projector.includes(m))
  const tower = v.freezeTower ? [] : towerOnlyModules(family)
  return [...(v.projectorOnly ? [] : language), ...(v.freezeProjector ? [] : projector), ...tower]
}

/** LoRA's targets when the recipe names none: the family's, or the projector's linears with projectorOnly. */
export function defaultTargetModules(family: FamilyInfo, vision?: VisionTraining): readonly string[] {
  return family.vision && visionTrainingOf(vision).projectorOnly ? family.vision.projectorModules : family.defaultTargetModules
}

/** PEFT's `exclude_modules` of a LoRA on the family: the frozen tower, or what of an adapted tower is no linear; undefined for a text family. */
export function loraExcludeModules(family: FamilyInfo, towerAdapted: boolean): string | undefined {
  if (!family.vision) return undefined
  return towerAdapted ? family.vision.towerConflictPattern : family.vision.towerPattern
}

/** The tower's module names a LoRA adapts besides the language model's (LLaVA's CLIP q/k/v_proj are both), when the tower trains. */
export function towerOnlyModules(family: FamilyInfo): readonly string[] {
  return family.vision ? family.vision.towerModules.filter((m) => !family.linearModules.includes(m)) : []
}
