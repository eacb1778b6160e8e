// Checkpoints whose architecture is Python shipped beside the weights (config.json `auto_map`,
// loaded by transformers only with `trust_remote_code=True`). tunekit runs no downloaded code, on
// either backend: such a folder is refused with what to use instead.
import { issue, type Issue } from '../errors/tunekit-error.ts'

/**
 * model_types that exist only as remote code (transformers 5.23 has no class for them), with the
 * transformers-native port to use instead, where there is one.
 */
export const REMOTE_CODE_MODEL_TYPES: Readonly<Record<string, string>> = {
  baichuan: 'a checkpoint of a family tunekit runs (qwen2, llama, mistral, …): Baichuan has no transformers-native port',
  chatglm: "GLM-4's transformers-native port (THUDM/glm-4-9b-chat-hf, model_type glm4; not a tunekit family yet) or a checkpoint of a family tunekit runs (qwen2, llama, …)",
  internlm: "InternLM3's transformers-native port (model_type internlm3; not a tunekit family yet) or a checkpoint of a family tunekit runs (qwen2, llama, …)",
  internlm2: "InternLM3's transformers-native port (model_type internlm3; not a tunekit family yet), a llama-format conversion of InternLM2 (model_type llama), or a checkpoint of a family tunekit runs",
  qwen: "Qwen2, the transformers-native successor (Qwen/Qwen2-7B, model_type qwen2, family 'qwen2')",
  Yi: "the current revision of the 01-ai/Yi checkpoint, whose config.json says model_type llama (family 'yi')",
}

/**
 * RemoteCodeModel when config.json's architecture needs `trust_remote_code`: an `auto_map`, or a
 * model_type known to exist only as remote code; undefined otherwise.
 */
export function remoteCodeIssue(file: string, json: Record<string, unknown>): Issue | undefined {
  const modelType = typeof json.model_type === 'string' ? json.model_type : undefined
  const known = modelType === undefined ? undefined : REMOTE_CODE_MODEL_TYPES[modelType]
  if (known === undefined && (typeof json.auto_map !== 'object' || json.auto_map === null)) return undefined
  const instead = known ?? 'a transformers-native checkpoint of the architecture (config.json without auto_map) of a family tunekit runs'
  return issue('RemoteCodeModel', { path: `${file}: ${known === undefined ? 'auto_map' : 'model_type'}`, value: modelType, hintArgs: [instead] }, file, modelType ?? '(none)')
}
