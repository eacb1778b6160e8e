// preprocessor_config.json of a vision-language model tunekit writes (a random one): transformers'
// CLIPImageProcessor (LLaVA) or Qwen2VLImageProcessor as save_pretrained writes them (5.23), with
// OpenAI CLIP's mean / std and bicubic resampling, sized to the model's vision tower.
import type { ModelConfig } from '@tunekit/core'

const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
const common = { do_convert_rgb: true, do_normalize: true, do_rescale: true, do_resize: true, image_mean: CLIP_MEAN, image_std: CLIP_STD, resample: 3, rescale_factor: 1 / 255 }

/**
 * The processor of `config`'s vision tower, or undefined for a text model. LLaVA: resize the shortest
 * edge to `image_size` and crop the centre square. Qwen2-VL: between 4 and 16 image tokens
 * ((patch · merge)² pixels each), which keeps a random model's sequences short.
 */
export function preprocessorConfigJson(config: ModelConfig): Record<string, unknown> | undefined {
  const v = config.vision
  if (!v) return undefined
  if (v.kind === 'llava') {
    return { ...common, crop_size: { height: v.imageSize, width: v.imageSize }, do_center_crop: true, image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: v.imageSize } }
  }
  const token = (v.patchSize * v.spatialMergeSize) ** 2 // pixels per image token
  return { ...common, image_processor_type: 'Qwen2VLImageProcessor', merge_size: v.spatialMergeSize, patch_size: v.patchSize, size: { longest_edge: 16 * token, shortest_edge: 4 * token }, temporal_patch_size: v.temporalPatchSize }
}
