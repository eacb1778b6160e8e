// What tokenize needs for a conversation with images: each image read and preprocessed as the
// model's processor does, and its messages with every `<image>` expanded to that image's tokens.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fail } from '@tunekit/core'
import type { Conversation, Message } from '../formats/conversation.ts'
import type { LoadedTokenizer } from '../tokenizer/load.ts'
import { expandedImage, expandPlaceholders, imageTokenCountOf, imageTokenIds, imageTokensOf } from './image-tokens.ts'
import { readImage } from './png-decode.ts'
import { preprocessImage, type PreprocessedImage } from './preprocess.ts'
import { loadPreprocessorConfig, type PreprocessorConfig } from './preprocessor-config.ts'

export interface ExpandedConversation {
  messages: Message[]
  images: PreprocessedImage[]
  /** Image tokens in the expanded text (Qwen2-VL's vision start / end included). */
  tokens: number
}

export interface ImageExpander {
  /** Token ids that belong to images: their mask is 0 whatever the mask mode. */
  ids: () => ReadonlySet<number>
  expand: (conv: Conversation) => Promise<ExpandedConversation>
}

/**
 * The expander of a model folder; reads preprocessor_config.json and config.json at the first
 * conversation with images (a text-only dataset never needs them).
 */
export function imageExpander(modelDir: string, tok: LoadedTokenizer): ImageExpander {
  let setup: Promise<{ processor: PreprocessorConfig; tokens: ReturnType<typeof imageTokensOf> }> | undefined
  let ids = new Set<number>()
  const load = async () => {
    // config.json first: a text model is told it has no image tokens, not that a file is missing
    const config = await readFile(join(modelDir, 'config.json'), 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>, () => ({ model_type: undefined }))
    const tokens = imageTokensOf(config, tok, modelDir)
    const processor = await loadPreprocessorConfig(modelDir)
    if ((tokens.kind === 'llava') !== (processor.kind === 'clip'))
      fail('ImageModelUnsupported', { path: join(modelDir, 'preprocessor_config.json'), value: modelDir }, modelDir, `config.json is ${tokens.kind} but preprocessor_config.json is a ${processor.kind === 'clip' ? 'CLIP' : 'Qwen2-VL'} image processor`)
    ids = new Set(imageTokenIds(tokens))
    return { processor, tokens }
  }
  return {
    ids: () => ids,
    async expand(conv) {
      const { processor, tokens } = await (setup ??= load())
      const images: PreprocessedImage[] = []
      const counts: number[] = []
      for (const file of conv.images ?? []) {
        const im = preprocessImage(await readImage(file), processor, file)
        // the count is config.json's (core's VisionConfig); the processor's must agree, or the model's forward would refuse the batch
        const count = imageTokenCountOf(tokens, im.gridThw)
        if (count !== im.imageTokens) mismatch(modelDir, file, im.imageTokens, count)
        images.push(im)
        counts.push(count)
      }
      const expansions = counts.map((n) => expandedImage(tokens, n))
      const count = counts.reduce((n, c) => n + c + (tokens.kind === 'qwen2_vl' ? 2 : 0), 0)
      return { messages: expandPlaceholders(conv.messages, expansions), images, tokens: count }
    },
  }
}

/** preprocessor_config.json and config.json disagree on an image's tokens (LLaVA's crop size against vision_config's image_size, or the patch or merge sizes). */
function mismatch(modelDir: string, file: string, processor: number, config: number): never {
  return fail('ImageModelUnsupported', { path: join(modelDir, 'preprocessor_config.json'), value: modelDir }, modelDir,
    `preprocessor_config.json makes ${file} ${processor} image tokens and config.json's vision_config ${config}; the vision tower would not fill them (crop size against image_size, patch or merge size)`)
}
