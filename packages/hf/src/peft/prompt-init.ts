// The start values of prompt tuning's virtual tokens, drawn here for both backends (the torch
// worker loads them into PEFT's PromptEmbedding, so the two runs start alike): `RANDOM` N(0, 1) as
// torch.nn.Embedding initialises, from `args.seed`; `TEXT` the embedding rows of the text's
// token ids, cut or repeated to the count as PEFT's PromptEmbedding does.
import { createRng } from '../prng.ts'
import type { FloatTensor } from '../safetensors.ts'
import { PROMPT_EMBEDDINGS } from './prompt-tuning.ts'

/** The ids PEFT's TEXT init takes: the text's ids cut to `n`, or repeated until `n`. */
export function promptInitIds(textIds: readonly number[], n: number): number[] {
  if (textIds.length === 0) throw new Error('prompt tuning TEXT init: the text has no tokens')
  const reps = Math.ceil(n / textIds.length)
  return Array.from({ length: reps }, () => textIds).flat().slice(0, n)
}

/** PEFT's TEXT init ids: `tokenizer(text)["input_ids"]`, the bos first when the tokenizer adds one. */
export function promptTextIds(tok: { addBos: boolean; bos?: { id: number } | undefined; encode: (text: string) => number[] }, text: string): number[] {
  return [...(tok.addBos && tok.bos ? [tok.bos.id] : []), ...tok.encode(text)]
}

/** `{ prompt_embeddings: [n, hidden] }`; `textIds` for TEXT (else RANDOM), rows of `embedding` [vocab, hidden]. */
export async function initialPromptEmbeddings(o: { numVirtualTokens: number; hiddenSize: number; seed: number; textIds?: readonly number[] | undefined; embedding: () => Promise<FloatTensor> }): Promise<Map<string, FloatTensor>> {
  const n = o.numVirtualTokens
  const h = o.hiddenSize
  const data = new Float32Array(n * h)
  if (o.textIds === undefined) createRng(o.seed, PROMPT_EMBEDDINGS).fillNormal(data, 0, 1)
  else {
    const embedding = await o.embedding()
    promptInitIds(o.textIds, n).forEach((id, i) => data.set(embedding.data.subarray(id * h, (id + 1) * h), i * h))
  }
  return new Map([[PROMPT_EMBEDDINGS, { shape: [n, h], data }]])
}
