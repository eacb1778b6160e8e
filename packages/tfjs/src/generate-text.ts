import { encodePrompt, loadTokenizer, type LoadedTokenizer } from '@tunekit/data'
import { readTrainArtifact } from '@tunekit/hf'
import { generateIds, type SamplingOptions } from './generate.ts'
import { loadTrained } from './methods/index.ts'
import { disposeAdapter, type AdapterState } from './methods/state.ts'
import { disposeModel, loadModel } from './model/load.ts'
import type { DecoderModel } from './model/types.ts'

/** A model (with its adapter, if any) and tokenizer, ready to generate. */
export interface GenerationModel {
  model: DecoderModel
  adapter: AdapterState | undefined
  tokenizer: LoadedTokenizer
  dispose: () => void
}

/** Loads a model folder (merged, or base + a train artifact of any method) and the tokenizer the model was trained with. */
export async function loadForGeneration(modelDir: string, adapterDir: string | undefined, tokenizerDir: string): Promise<GenerationModel> {
  const tokenizer = await loadTokenizer(tokenizerDir)
  const model = await loadModel(modelDir, { vocabSize: tokenizer.vocabSize })
  let adapter: AdapterState | undefined
  if (adapterDir) {
    // checked against the model it is applied to: an adapter of another model is refused, not run
    adapter = loadTrained(model, await readTrainArtifact(adapterDir, { family: model.family, config: model.config }))
  }
  return {
    model, adapter, tokenizer,
    dispose: () => {
      if (adapter) disposeAdapter(adapter)
      disposeModel(model)
    },
  }
}

/** Ids of already-rendered prompt text (from @tunekit/data, where the score node's prompts are encoded too). */
export { encodePrompt }

/** Generates a completion and decodes it; `onToken` receives each new piece of text as it is decided. */
export function generateText(m: GenerationModel, promptIds: readonly number[], opts: SamplingOptions, onToken?: (text: string) => void): string {
  const out: number[] = []
  let shown = ''
  generateIds(m.model, m.adapter, promptIds, { ...opts, eosIds: [m.tokenizer.eos.id, ...(opts.eosIds ?? [])] }, (id) => {
    out.push(id)
    if (!onToken) return
    const text = m.tokenizer.decode(out)
    // A partial UTF-8 sequence decodes to U+FFFD: wait for the rest of the character.
    if (text.endsWith('\uFFFD')) return
    onToken(text.slice(shown.length))
    shown = text
  })
  return m.tokenizer.decode(out)
}
