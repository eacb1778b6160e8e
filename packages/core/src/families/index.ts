import { autoFamily } from './auto.ts'
import { bertFamily } from './bert.ts'
import { attentionLinear, decoderLinear, makeDecoderFamily, mixtralExperts, phi3Linear } from './decoder.ts'
import { llama3Template } from './llama3-template.ts'
import { llavaFamily } from './llava.ts'
import { qwen2VlFamily } from './qwen2-vl.ts'
import type { FamilyInfo } from './types.ts'

/**
 * The model family registry: one entry per architecture, keyed by config.json `model_type`.
 * Default target modules follow PEFT's table (`TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING`).
 */
export const families = {
  llama: makeDecoderFamily({
    name: 'llama',
    defaultTemplate: 'llama-2',
    configTemplate: llama3Template,
    architecture: 'LlamaForCausalLM',
    defaults: { ropeTheta: 10000, attentionBias: false },
    linearModules: decoderLinear,
    defaultTargetModules: ['q_proj', 'v_proj'],
  }),
  mistral: makeDecoderFamily({
    name: 'mistral',
    defaultTemplate: 'mistral-instruct',
    architecture: 'MistralForCausalLM',
    defaults: { ropeTheta: 10000, attentionBias: false },
    linearModules: decoderLinear,
    defaultTargetModules: ['q_proj', 'v_proj'],
  }),
  qwen2: makeDecoderFamily({
    name: 'qwen2',
    defaultTemplate: 'chatml',
    architecture: 'Qwen2ForCausalLM',
    defaults: { ropeTheta: 1_000_000, attentionBias: true },
    linearModules: decoderLinear,
    defaultTargetModules: ['q_proj', 'v_proj'],
  }),
  qwen3: makeDecoderFamily({
    name: 'qwen3',
    defaultTemplate: 'chatml',
    architecture: 'Qwen3ForCausalLM',
    defaults: { ropeTheta: 1_000_000, attentionBias: false, qkNorm: true },
    linearModules: decoderLinear,
    defaultTargetModules: ['q_proj', 'v_proj'],
  }),
  gemma: makeDecoderFamily({
    name: 'gemma',
    defaultTemplate: 'gemma',
    architecture: 'GemmaForCausalLM',
    defaults: { ropeTheta: 10000, attentionBias: false, gemma: true },
    linearModules: decoderLinear,
    defaultTargetModules: ['q_proj', 'v_proj'],
  }),
  gemma2: makeDecoderFamily({
    name: 'gemma2',
    defaultTemplate: 'gemma',
    architecture: 'Gemma2ForCausalLM',
    defaults: { ropeTheta: 10000, attentionBias: false, gemma: true, gemma2: true },
    linearModules: decoderLinear,
    defaultTargetModules: ['q_proj', 'v_proj'],
  }),
  // Phi-3 (mini / small-context medium): fused qkv_proj and gate_up_proj, which PEFT targets as they are
  phi3: makeDecoderFamily({
    name: 'phi3',
    defaultTemplate: 'phi-3',
    architecture: 'Phi3ForCausalLM',
    defaults: { ropeTheta: 10000, attentionBias: false, fusedProjections: true },
    linearModules: phi3Linear,
    defaultTargetModules: ['qkv_proj', 'o_proj'],
  }),
  // Mixtral: llama's attention, a top-k mixture of SwiGLU experts in place of the MLP
  mixtral: makeDecoderFamily({
    name: 'mixtral',
    defaultTemplate: 'mistral-instruct',
    architecture: 'MixtralForCausalLM',
    defaults: { ropeTheta: 1_000_000, attentionBias: false, moe: true },
    linearModules: attentionLinear,
    expertModules: mixtralExperts,
    defaultTargetModules: ['q_proj', 'v_proj'],
  }),
  // Yi (01-ai): llama's architecture and config.json (model_type "llama"); the family id keeps
  // recipes readable and its chat models' ChatML template at hand
  yi: makeDecoderFamily({
    name: 'yi',
    defaultTemplate: 'chatml',
    modelType: 'llama',
    architecture: 'LlamaForCausalLM',
    defaults: { ropeTheta: 10000, attentionBias: false },
    linearModules: decoderLinear,
    defaultTargetModules: ['q_proj', 'v_proj'],
  }),
  bert: bertFamily,
  // vision-language models (torch backend only): the language model's modules, a projector, a frozen vision tower
  llava: llavaFamily,
  qwen2_vl: qwen2VlFamily,
  // any other decoder transformers loads without remote code (torch backend only): module names from the folder's weights
  auto: autoFamily,
} as const satisfies Record<string, FamilyInfo>

export type Family = keyof typeof families
export const familyNames = Object.keys(families) as Family[]
/** Linear module names of a family, for `lora.targetModules` (typed with Mixtral's expert names: `linearModules`' element type is the family's every name). */
export type ModuleName<F extends Family> = (typeof families)[F]['linearModules'][number]
/** Module names of a family that `lora.modulesToSave` accepts. */
export type SaveableModule<F extends Family> = (typeof families)[F]['saveableModules'][number]

export function familyInfo(family: string): FamilyInfo | undefined {
  return (families as Record<string, FamilyInfo>)[family]
}

/** config.json `model_type` of a family's checkpoints (its name unless the family is an alias, as yi is llama's). */
export const familyModelType = (info: FamilyInfo): string => info.modelType ?? info.name

export { matchesModule, probedFamily, type WeightShapes } from './auto.ts'
export type { EncoderConfig, FamilyInfo, Gemma2Config, LlavaVision, ModelConfig, MoeConfig, Qwen2VlVision, VisionConfig, VisionModules } from './types.ts'
export { imageTokenCount, llavaImageTokens, readLlavaVision, visionConfigOf, visionTokens, type VisionToken } from './vision-config.ts'
