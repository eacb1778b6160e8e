// The metadata of the torch worker's artifacts, written here (TypeScript, @tunekit/hf) after the
// worker wrote the tensors, so a torch-trained run's adapter_config.json, tokenizer files and
// merged config.json are the tfjs backend's bytes: the widest form old and new transformers and
// PEFT load (PEFT 0.21's adapter_config.json fails in PEFT 0.9; tokenizers 0.23's rewrite of
// tokenizer.json fails in tokenizers 0.15; transformers 5's config.json lacks `rope_theta`).
import { cp, readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { inputOfKind, nodeParams, readTrainableTokenIds, resolveModelDir, writeJsonAtomic, type NodeContext } from '@tunekit/core'
import { loadTokenizer } from '@tunekit/data'
import {
  ADAPTER_CONFIG, adapterBaseModel, adapterConfigJson, ia3ConfigJson, isPissa, pissaConvertedSpec, promptTuningConfigJson, pTuningConfigJson, pTuningTrained, prefixTuningConfigJson, prefixTrained, loraSpecFromRecipe, readModelConfig, specFromAdapterConfig, storedFloatDtype, tiedAfterMerge, writeMergedMetadata, writeModelConfigJson,
} from '@tunekit/hf'

/** The train artifact's metadata: tokenizer/, chat_template.jinja and, for LoRA, adapter_config.json. */
export async function writeTrainMetadata(ctx: NodeContext): Promise<void> {
  const p = nodeParams('train', ctx.node)
  const tokenize = inputOfKind(ctx, 'tokenize')
  await cp(join(tokenize, 'tokenizer'), join(ctx.outDir, 'tokenizer'), { recursive: true })
  await cp(join(tokenize, 'chat_template.jinja'), join(ctx.outDir, 'chat_template.jinja')).catch(() => undefined)
  if (p.method.kind === 'full' || p.method.kind === 'llama-pro') return fullConfig(ctx.outDir, p.model.family)
  if (p.method.kind === 'freeze') return
  const modelDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const { family, config } = await readModelConfig(modelDir, p.model.family)
  const { baseModel, revision } = adapterBaseModel(p.model, modelDir)
  // IA³ and prompt tuning: PEFT's config of that method, as @tunekit/hf's layout writes it for tfjs
  if (p.method.kind === 'ia3') return writeJsonAtomic(join(ctx.outDir, ADAPTER_CONFIG), ia3ConfigJson(p.method, family, baseModel, revision))
  if (p.method.kind === 'prompt-tuning') return writeJsonAtomic(join(ctx.outDir, ADAPTER_CONFIG), promptTuningConfigJson(p.method, config, baseModel, revision))
  if (p.method.kind === 'p-tuning') {
    const trained = pTuningTrained(p.method, config)
    return writeJsonAtomic(join(ctx.outDir, ADAPTER_CONFIG), pTuningConfigJson(trained, trained.shape, baseModel, revision))
  }
  if (p.method.kind === 'prefix-tuning') {
    const trained = prefixTrained(p.method, config)
    return writeJsonAtomic(join(ctx.outDir, ADAPTER_CONFIG), prefixTuningConfigJson(trained, trained.shape, baseModel, revision))
  }
  const spec = loraSpecFromRecipe(p.method, family, await readTrainableTokenIds(tokenize), p.model.vision)
  // a PiSSA adapter is written converted by the worker (rank 2r on the original base), as tfjs writes it
  await writeJsonAtomic(join(ctx.outDir, ADAPTER_CONFIG), adapterConfigJson(isPissa(spec) ? pissaConvertedSpec(spec) : spec, family, baseModel, revision))
}

/** Full's artifact is a model folder: its config.json in the widest form, from what save_pretrained wrote (as tfjs writes it). */
async function fullConfig(dir: string, recipeFamily: string): Promise<void> {
  const { family, config, json } = await readModelConfig(dir, recipeFamily)
  // family 'auto' writes only what training changes: the rest of config.json is save_pretrained's, kept
  await writeModelConfigJson(join(dir, 'config.json'), family, config, { dtype: storedFloatDtype(dir), ...(family === 'auto' ? { base: json } : {}) })
}

/** The merged folder's config.json, generation_config.json and tokenizer files, beside the worker's safetensors. */
export async function writeMergeMetadata(ctx: NodeContext): Promise<void> {
  const tokenize = inputOfKind(ctx, 'tokenize')
  const tokenizerDir = join(tokenize, 'tokenizer')
  const tok = await loadTokenizer(tokenizerDir)
  const baseDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  // the merge node's params hold no family: the model input's do ('auto' reads config.json generically)
  const modelNode = ctx.graph.nodes.find((n) => n.kind === 'model' && ctx.node.inputs.includes(n.id))
  const family = modelNode ? nodeParams('model', modelNode).family : undefined
  const { config } = await readModelConfig(baseDir, family)
  const adapterConfig = join(inputOfKind(ctx, 'train'), ADAPTER_CONFIG)
  const saved = existsSync(adapterConfig) ? specFromAdapterConfig(JSON.parse(await readFile(adapterConfig, 'utf8')) as Record<string, unknown>).modulesToSave ?? [] : []
  const template = await readFile(join(tokenize, 'chat_template.jinja'), 'utf8').catch(() => undefined)
  await writeMergedMetadata(ctx.outDir, {
    baseDir, ...(family !== undefined ? { family } : {}), vocabSize: tok.vocabSize, tied: tiedAfterMerge(config.tieWordEmbeddings, saved), dtype: storedFloatDtype(ctx.outDir),
    eosTokenId: tok.eos.id, padTokenId: tok.pad.id, tokenizerDir, ...(template !== undefined ? { chatTemplate: template } : {}),
    // the worker saved a *ForSequenceClassification when the artifact trained the reward head
    ...(saved.includes('score') ? { sequenceClassification: true } : {}),
  })
}
