// LLaMA Pro on tfjs: the loaded base becomes the expanded model in place (expandModel: its layers
// renumbered, a copy after every (layers / n)-th one), and trainable copies of the added blocks'
// tensors (o_proj and down_proj zero, @tunekit/hf's expandTensors) are used in place of their frozen
// ones. The base layers stay the frozen tensors they were loaded as, bit for bit.
import { decoderParameters, expansionIssues, expandedConfig, expandedLayers, fail, familyInfo, llamaProTrainedNames } from '@tunekit/core'
import { expandTensors, type FloatTensor } from '@tunekit/hf'
import { baseWeightReader } from '../model/load.ts'
import { isMoe, type DecoderLayer, type DecoderModel, type DenseMlp, type Linear, type MoeMlp } from '../model/types.ts'
import { startValues, trainedWeightsState } from './trained-weights.ts'
import type { TfjsMethod } from './types.ts'

// a module path moved from layer `from` to layer `to`: model.layers.{from}.… → model.layers.{to}.…
const renamed = (lin: Linear, from: string, to: string): Linear => ({ ...lin, path: to + lin.path.slice(from.length) })
const renamedMlp = (mlp: DenseMlp | MoeMlp, from: string, to: string): DenseMlp | MoeMlp =>
  isMoe(mlp)
    ? { router: renamed(mlp.router, from, to), experts: mlp.experts.map((e) => renamedMlp(e, from, to) as DenseMlp) }
    : { gateUp: mlp.gateUp.map((l) => renamed(l, from, to)), down: renamed(mlp.down, from, to) }

/**
 * Makes a loaded base model the expanded one: layers in expanded order with their paths renumbered
 * (`model.layers.{j}`), an added block sharing its source layer's frozen tensors (the trained state
 * replaces all of them), and `numHiddenLayers` grown. Refuses a block count that does not divide the layers.
 */
export function expandModel(model: DecoderModel, numExpandedBlocks: number): void {
  const issues = expansionIssues(numExpandedBlocks, model.config.numHiddenLayers, 'method')
  if (issues.length > 0) fail('ExpandedBlocksNotDivisor', issues[0]!, numExpandedBlocks, model.config.numHiddenLayers)
  const base = [...model.layers]
  const layers: DecoderLayer[] = expandedLayers(base.length, numExpandedBlocks).map(({ source }, j) => {
    const l = base[source]!
    const path = `model.layers.${j}`
    return { ...l, path, qkv: l.qkv.map((q) => renamed(q, l.path, path)), o: renamed(l.o, l.path, path), mlp: renamedMlp(l.mlp, l.path, path) }
  })
  model.layers.splice(0, model.layers.length, ...layers)
  model.config = expandedConfig(model.config, numExpandedBlocks)
}

export const llamaPro = {
  setup: async ({ model, method, modelDir, resumed }) => {
    const family = familyInfo(model.family)!
    const baseConfig = model.config
    const n = method.numExpandedBlocks
    const reader = await baseWeightReader(modelDir, baseConfig.vocabSize)
    const base = await startValues(decoderParameters(family, baseConfig).map((p) => p.name), reader.readFloat).finally(() => reader.close())
    expandModel(model, n)
    const expanded = expandTensors(base, baseConfig.numHiddenLayers, n)
    const names = llamaProTrainedNames(n, family, baseConfig)
    const from: ReadonlyMap<string, FloatTensor> = resumed ?? expanded
    const state = trainedWeightsState(model, names, (name) => from.get(name) ?? missing(name))
    // the artifact is the whole expanded model: the frozen tensors are written beside the trained ones
    const trained = new Set(names)
    const frozen = new Map([...expanded].filter(([name]) => !trained.has(name)))
    return { state: { ...state, artifactExtra: frozen }, trained: { kind: 'llama-pro', numExpandedBlocks: n, config: model.config } }
  },
  // an artifact is the expanded model: expand the base in place, then every tensor of the folder in place of the base's
  load: (model, artifact) => {
    expandModel(model, artifact.method.numExpandedBlocks)
    return trainedWeightsState(model, [...artifact.tensors.keys()], (n) => artifact.tensors.get(n)!)
  },
  merge: () => fail('LlamaProMerge', { path: 'output.merge', value: true }, 'the merge node'),
} satisfies TfjsMethod<'llama-pro'>

function missing(name: string): never {
  throw new Error(`the checkpoint has no ${name}`)
}
