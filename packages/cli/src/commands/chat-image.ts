// `tunekit chat --image file.png`: the image preprocessed as the model's processor does
// (@tunekit/data's preprocessImage over preprocessor_config.json) and the `<image>` placeholder of a
// rendered prompt expanded to its image tokens, as tokenize expands it in training.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fail, type GenerateImage } from '@tunekit/core'

/** A chat's image: its pixels for the backend, and the prompt with its placeholder expanded. */
export interface ChatImage {
  image: GenerateImage
  /** The rendered prompt with its one `<image>` replaced by the image's tokens. */
  expand(prompt: string): string
}

/** Reads and preprocesses `file` for the model in `modelDir`, whose tokens come from the tokenizer in `tokenizerDir`. */
export async function chatImage(file: string, modelDir: string, tokenizerDir: string): Promise<ChatImage> {
  const { expandedImage, imagePlaceholder, imageTokensOf, loadPreprocessorConfig, loadTokenizer, preprocessImage, readImage } = await import('@tunekit/data')
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>
  const tokens = imageTokensOf(config, await loadTokenizer(tokenizerDir), modelDir)
  const pre = preprocessImage(await readImage(file), await loadPreprocessorConfig(modelDir), file)
  const text = expandedImage(tokens, pre.imageTokens)
  return {
    image: { pixels: pre.pixels, shape: pre.shape, ...(pre.gridThw ? { gridThw: pre.gridThw } : {}) },
    expand: (prompt) => {
      const parts = prompt.split(imagePlaceholder)
      if (parts.length !== 2) fail('InvalidValue', { path: 'image', value: file }, ['one <image> in the conversation (chat --image puts it before the first message)'])
      return parts.join(text)
    },
  }
}
