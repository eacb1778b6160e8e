// adapter_config.json `base_model_name_or_path`: a name a user can load the base by. PEFT's
// `AutoPeftModelForCausalLM.from_pretrained(adapter)` loads whatever it says, so it is the Hub id
// only when the weights came from the Hub (found in its cache), and otherwise the folder the base
// was read from: a random model's artifact folder, `model.path`, TUNEKIT_MODEL_PATH. A random
// model's `model.id` (`tunekit/tiny-mistral`) names nothing outside tunekit's cache.
import { hubSnapshotDir } from '@tunekit/core'

const HUB_ID = /^[\w.-]+\/[\w.-]+$/

/** `base_model_name_or_path` and `revision` of an adapter trained on the base in `modelDir`. */
export function adapterBaseModel(model: { id: string; revision?: string | undefined; random?: unknown }, modelDir: string): { baseModel: string; revision: string | null } {
  if (model.random === undefined && HUB_ID.test(model.id) && hubSnapshotDir('model', model.id, model.revision ?? 'main').dir === modelDir) {
    return { baseModel: model.id, revision: model.revision && model.revision !== 'main' ? model.revision : null }
  }
  return { baseModel: modelDir, revision: null }
}
