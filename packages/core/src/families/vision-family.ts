import type { BuiltinTemplateName } from '../schema/template-names.ts'
// A vision-language family (LLaVA, Qwen2-VL): the llama-style decoder of its language model, whose
// modules keep their decoder names, plus a vision tower (frozen unless model.vision says otherwise) and a
// projector (one of each module, not one per layer), as transformers' *ForConditionalGeneration
// builds them.
import { decoderLinear, decoderSaveable, makeDecoderFamily, type DecoderDefaults, type DecoderLinear, type DecoderSaveable } from './decoder.ts'
import type { FamilyInfo, ModelConfig, VisionModules } from './types.ts'

export interface VisionFamilyOptions<T extends string, P extends string, S extends string> {
  name: string
  architecture: string
  defaults: DecoderDefaults
  /** The chat template of the family's chat checkpoints (FamilyInfo.defaultTemplate). */
  defaultTemplate: BuiltinTemplateName
  readConfig(json: Record<string, unknown>): ModelConfig
  writeConfig(config: ModelConfig): Record<string, unknown>
  /** The vision tower's linear module names (those the decoder shares, LLaVA's CLIP q/k/v_proj, included). */
  towerModules: readonly T[]
  projectorModules: readonly P[]
  /** `[in, out]` of a projector module. */
  projectorShape(config: ModelConfig, module: P): readonly [number, number]
  projector: S
  towerPattern: string
  towerConflictPattern?: string
  towerLinearShape(config: ModelConfig, module: T): readonly [number, number]
  towerLayers(config: ModelConfig): number
  towerParams(config: ModelConfig): number
  /** Projector parameters outside its linears (Qwen2-VL's merger LayerNorm `ln_q`). */
  projectorExtraParams?(config: ModelConfig): number
}

export function makeVisionFamily<T extends string, P extends string, S extends string>(o: VisionFamilyOptions<T, P, S>): FamilyInfo<DecoderLinear | T | P, DecoderSaveable | S> & { vision: VisionModules<DecoderLinear | T | P, DecoderSaveable | S> } {
  const text = makeDecoderFamily({ name: o.name, architecture: o.architecture, defaults: o.defaults, linearModules: decoderLinear, defaultTargetModules: ['q_proj', 'v_proj'], defaultTemplate: o.defaultTemplate })
  const projectors: readonly string[] = o.projectorModules
  const isProjector = (m: string): m is P => projectors.includes(m)
  const projectorParams = (c: ModelConfig): number => o.projectorModules.reduce((n, m) => n + weightAndBias(o.projectorShape(c, m)), o.projectorExtraParams?.(c) ?? 0)
  const vision: VisionModules<DecoderLinear | T | P, DecoderSaveable | S> = {
    towerModules: o.towerModules, projectorModules: o.projectorModules, projector: o.projector, towerPattern: o.towerPattern,
    towerParams: o.towerParams, projectorParams, towerLayers: o.towerLayers,
    towerLinearShape: (c, m) => o.towerLinearShape(c, m as T),
    ...(o.towerConflictPattern !== undefined ? { towerConflictPattern: o.towerConflictPattern } : {}),
  }
  const linearShape = (c: ModelConfig, m: DecoderLinear | T | P): readonly [number, number] => (isProjector(m) ? o.projectorShape(c, m) : text.linearShape(c, m as DecoderLinear))
  return {
    ...text,
    readConfig: o.readConfig,
    writeConfig: o.writeConfig,
    // the language model's linears, then the projector's: what 'all-linear' adapts (the tower is frozen)
    linearModules: [...decoderLinear, ...o.projectorModules],
    saveableModules: [...decoderSaveable, o.projector],
    linearShape,
    linearShapes: (c, m) => [linearShape(c, m)],
    moduleParams: (c, m) => (m === o.projector ? projectorParams(c) : isProjector(m) ? weightAndBias(o.projectorShape(c, m)) : text.moduleParams(c, m as DecoderLinear | DecoderSaveable)),
    totalParams: (c) => text.totalParams(c) + o.towerParams(c) + projectorParams(c),
    vision,
  }
}

/** A linear layer with its bias: in × out + out. */
export const weightAndBias = ([i, o]: readonly [number, number]): number => i * o + o
