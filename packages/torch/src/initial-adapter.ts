// The seeded initial adapter for a train node, drawn in TypeScript by @tunekit/hf (the
// same bytes the tfjs backend starts from) and handed to the worker, which loads it into PEFT.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { MethodOptions, NodeContext } from '@tunekit/core'
import {
  growRows,
  initialAdapter,
  loraSpecFromRecipe,
  openModelWeights,
  readModelConfig,
  resolveModelDir,
  writeAdapter,
  type BaseTensors,
  type FloatTensor,
} from '@tunekit/hf'

interface TokenizerJson {
  model?: { vocab?: Record<string, number> | Array<[string, number]> }
  added_tokens?: Array<{ id: number; content: string }>
}

/** Token ids by text and the vocabulary size (base vocab + added tokens) of a tokenizer.json. */
async function tokenizerIds(file: string): Promise<{ size: number; idOf: (token: string) => number | undefined }> {
  const json = JSON.parse(await readFile(file, 'utf8')) as TokenizerJson
  const ids = new Map<string, number>()
  const vocab = json.model?.vocab
  if (Array.isArray(vocab)) vocab.forEach(([t], i) => ids.set(t, i))
  else if (vocab) for (const [t, i] of Object.entries(vocab)) ids.set(t, i)
  for (const t of json.added_tokens ?? []) ids.set(t.content, t.id)
  let size = 0
  for (const i of ids.values()) size = Math.max(size, i + 1)
  return { size, idOf: (t) => ids.get(t) }
}

const inputOfKind = (ctx: NodeContext, kind: string): string | undefined => {
  const id = ctx.node.inputs.find((i) => (ctx.graph.nodes.find((n) => n.id === i)?.kind ?? i) === kind)
  return id === undefined ? undefined : ctx.input(id)
}

/**
 * Writes `<workDir>/initial-adapter/` from the node's LoRA method and `args.seed`; returns the folder.
 * Full and freeze start from the base weights themselves: nothing to draw, no folder.
 */
export async function writeInitialAdapter(ctx: NodeContext): Promise<string | undefined> {
  const params = ctx.node.params as unknown as { model: { id: string; family: string }; method: MethodOptions; args: { seed: number } }
  const modelArtifact = inputOfKind(ctx, 'model')
  const tokenize = inputOfKind(ctx, 'tokenize')
  if (!modelArtifact || !tokenize || params.method.kind !== 'lora') return undefined
  const modelDir = await resolveModelDir(modelArtifact)
  const { family, config } = await readModelConfig(modelDir)
  const tok = await tokenizerIds(join(tokenize, 'tokenizer', 'tokenizer.json'))
  const vocab = Math.max(tok.size, config.vocabSize)
  const lora = params.method
  const tokenIds =
    lora.trainableTokens === true
      ? Array.from({ length: vocab - config.vocabSize }, (_, i) => config.vocabSize + i)
      : Array.isArray(lora.trainableTokens)
        ? lora.trainableTokens.map((t) => tok.idOf(t) ?? -1)
        : []
  const spec = loraSpecFromRecipe(lora, family, tokenIds)
  const weights = await openModelWeights(modelDir)
  try {
    // modules_to_save / trainable tokens start from the (resized) base rows
    const baseTensors: BaseTensors = {
      readFloat: async (name) => {
        const t = await weights.readFloat(name)
        return name === 'model.embed_tokens.weight' || name === 'lm_head.weight' ? growRows(t, vocab) : t
      },
    }
    const tensors = await initialAdapter({ family, config: { ...config, vocabSize: vocab }, lora: spec, seed: params.args.seed, baseTensors })
    const dir = join(ctx.workDir, 'initial-adapter')
    await writeAdapter(dir, { tensors, loraConfig: spec, family, baseModel: params.model.id })
    return dir
  } finally {
    await weights.close()
  }
}
