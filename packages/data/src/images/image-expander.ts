// What tokenize needs for a conversation with images: each image read and preprocessed as the
// model's processor does, and its messages with every `<image>` expanded to that image's tokens.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fail } from '@tunekit/core'
import type { Conversation, Message } from '../formats/conversation.ts'
import type { LoadedTokenizer } from '../tokenizer/load.ts'
import { expandedImage, expandPlaceholders, imageTokenIds, imageTokensOf } from './image-tokens.ts'
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
      for (const file of conv.images ?? []) images.push(preprocessImage(await readImage(file), processor, file))
      const expansions = images.map((im) => expandedImage(tokens, im.imageTokens))
      const count = images.reduce((n, im) => n + im.imageTokens + (tokens.kind === 'qwen2_vl' ? 2 : 0), 0)
      return { messages: expandPlaceholders(conv.messages, expansions), images, tokens: count }
    },
  }
}
