// transformers' image processor settings (preprocessor_config.json, as save_pretrained writes it)
// plus the two numbers of config.json the image-token count needs (through core's readLlavaVision), in one typed value.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fail, isTunekitError, readLlavaVision, type LlavaVision } from '@tunekit/core'
import { resamplingFilters, type Resampling } from './resample.ts'

/** A colour as three numbers, red, green, blue (a processor's image_mean and image_std). */
export type Rgb = [number, number, number]

/** The settings both processors share (transformers' BaseImageProcessor fields). */
interface Common {
  doResize: boolean
  resample: Resampling
  doRescale: boolean
  rescaleFactor: number
  doNormalize: boolean
  imageMean: Rgb
  imageStd: Rgb
}

/** CLIPImageProcessor (LLaVA's vision tower): resize, center crop, rescale, normalise → [3, H, W]. */
export interface ClipProcessor extends Common {
  kind: 'clip'
  /** `{ shortestEdge }` keeps the aspect ratio (with `longestEdge`, capped); `{ height, width }` is exact. */
  size: { shortestEdge: number; longestEdge?: number } | { height: number; width: number }
  doCenterCrop: boolean
  cropSize: { height: number; width: number }
  /** The vision tower's patch size (config.json `vision_config.patch_size`): tokens = (H/p)·(W/p). */
  patchSize: number
  /** config.json `vision_feature_select_strategy`: 'full' keeps the CLS feature, one token more. */
  selectStrategy: 'default' | 'full'
}

/** Qwen2VLImageProcessor: smart_resize within min/max pixels, rescale, normalise, patch rows. */
export interface Qwen2VlProcessor extends Common {
  kind: 'qwen2_vl'
  minPixels: number
  maxPixels: number
  patchSize: number
  temporalPatchSize: number
  mergeSize: number
}

export type PreprocessorConfig = ClipProcessor | Qwen2VlProcessor

const openaiClipMean: Rgb = [0.48145466, 0.4578275, 0.40821073]
const openaiClipStd: Rgb = [0.26862954, 0.26130258, 0.27577711]

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The processor of a model folder from its preprocessor_config.json and config.json objects; class
 * defaults (CLIPImageProcessorPil's, Qwen2VLImageProcessorPil's) for fields the file leaves out.
 * Fails with ImageModelUnsupported (TK509) naming `folder` for any other processor or a bad field.
 */
export function preprocessorConfigOf(processor: unknown, model: unknown, folder: string): PreprocessorConfig {
  const bad = (reason: string): never => fail('ImageModelUnsupported', { path: join(folder, 'preprocessor_config.json'), value: folder }, folder, reason)
  if (!isObject(processor)) return bad('preprocessor_config.json is not a JSON object')
  const m = isObject(model) ? model : {}
  const type = String(processor.image_processor_type ?? '')
  const num = (key: string, fallback: number, from: Json = processor): number => {
    const v = from[key] ?? fallback
    return typeof v === 'number' && v > 0 ? v : bad(`preprocessor_config.json's ${key} is ${JSON.stringify(v)}, not a positive number`)
  }
  const flag = (key: string): boolean => (processor[key] === undefined ? true : processor[key] === true)
  const rgb = (key: string, fallback: Rgb): Rgb => {
    const v = processor[key] ?? fallback
    const list = typeof v === 'number' ? [v, v, v] : v
    return Array.isArray(list) && list.length === 3 && list.every((x) => typeof x === 'number') ? (list as Rgb) : bad(`preprocessor_config.json's ${key} is ${JSON.stringify(v)}, not three numbers`)
  }
  const resample = processor.resample ?? 3
  if (typeof resample !== 'number' || !(resample in resamplingFilters)) bad(`its resample is ${resample} (PIL's ${resample === 0 ? 'NEAREST' : 'unknown filter'}), and tunekit resamples with ${Object.entries(resamplingFilters).map(([k, v]) => `${k} (${v})`).join(', ')}`)
  const common: Common = {
    doResize: flag('do_resize'),
    resample: resample as Resampling,
    doRescale: flag('do_rescale'),
    rescaleFactor: num('rescale_factor', 1 / 255),
    doNormalize: flag('do_normalize'),
    imageMean: rgb('image_mean', openaiClipMean),
    imageStd: rgb('image_std', openaiClipStd),
  }
  const size = isObject(processor.size) ? processor.size : typeof processor.size === 'number' ? { shortest_edge: processor.size } : {}
  if (type.startsWith('Qwen2VLImageProcessor')) {
    return {
      kind: 'qwen2_vl',
      ...common,
      // Qwen2VLImageProcessor.__init__: min_pixels / max_pixels override size's edges
      minPixels: num('min_pixels', num('shortest_edge', 56 * 56, size)),
      maxPixels: num('max_pixels', num('longest_edge', 28 * 28 * 1280, size)),
      patchSize: num('patch_size', 14),
      temporalPatchSize: num('temporal_patch_size', 2),
      mergeSize: num('merge_size', 2),
    }
  }
  if (!type.startsWith('CLIPImageProcessor')) return bad(`preprocessor_config.json's image_processor_type is ${JSON.stringify(type || undefined)}; tunekit preprocesses like CLIPImageProcessor (LLaVA) and Qwen2VLImageProcessor`)
  const crop = isObject(processor.crop_size) ? processor.crop_size : typeof processor.crop_size === 'number' ? { height: processor.crop_size, width: processor.crop_size } : { height: 224, width: 224 }
  // the tower's patch size and feature strategy as core's llava family reads config.json (readLlavaVision: one reader)
  let vision: LlavaVision
  try {
    vision = readLlavaVision(m)
  } catch (e) {
    if (!isTunekitError(e)) throw e
    const issue = e.issues[0]
    return bad(`config.json's ${issue?.path ?? 'vision_config'} ${issue?.value === undefined ? 'is missing' : `is ${JSON.stringify(issue.value)}`}`)
  }
  return {
    kind: 'clip',
    ...common,
    size: size.height !== undefined || size.width !== undefined
      ? { height: num('height', 0, size), width: num('width', 0, size) }
      : { shortestEdge: num('shortest_edge', 224, size), ...(size.longest_edge !== undefined ? { longestEdge: num('longest_edge', 0, size) } : {}) },
    doCenterCrop: flag('do_center_crop'),
    cropSize: { height: num('height', 0, crop), width: num('width', 0, crop) },
    patchSize: vision.patchSize,
    selectStrategy: vision.featureSelectStrategy,
  }
}

const readJson = async (file: string, folder: string): Promise<unknown> => {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return fail('ImageModelUnsupported', { path: file, value: folder }, folder, `it has no ${file.slice(folder.length + 1)}`)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    return fail('ImageModelUnsupported', { path: file, value: folder }, folder, `${file.slice(folder.length + 1)} is not valid JSON (${(e as Error).message})`)
  }
}

/** The image processor of a model folder (preprocessor_config.json + config.json). */
export async function loadPreprocessorConfig(folder: string): Promise<PreprocessorConfig> {
  const [processor, model] = await Promise.all([readJson(join(folder, 'preprocessor_config.json'), folder), readJson(join(folder, 'config.json'), folder)])
  return preprocessorConfigOf(processor, model, folder)
}
