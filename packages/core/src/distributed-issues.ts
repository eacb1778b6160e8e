// The distributed group's combinations with the rest of the recipe (checkRecipe runs them).
import { issue, type Issue } from './errors/tunekit-error.ts'
import type { DistributedOptions } from './schema/distributed.ts'

/** The parts of a recipe the checks read (what checkRecipe has: possibly partial, before defaults). */
export interface DistributedParts {
  distributed?: Partial<DistributedOptions> | undefined
  backend?: string | undefined
  stage?: { kind?: string | undefined } | undefined
  args?: { gradientAccumulationSteps?: number | undefined; batchSize?: number | undefined } | undefined
  model?: { quantize?: unknown } | undefined
}

/**
 * A distributed group trains the sft or pretrain stage on the torch backend, with a world size
 * (nprocPerNode × nnodes) that divides the micro-batches of a step, a node rank below nnodes, and
 * FSDP only over unquantised weights. Values the recipe leaves out take the schema's defaults.
 */
export function distributedIssues({ distributed, backend, stage, args = {}, model = {} }: DistributedParts): Issue[] {
  if (distributed === undefined) return []
  const issues: Issue[] = []
  const b = backend ?? 'auto'
  if (b !== 'torch') issues.push(issue('DistributedNeedsTorch', { path: 'backend', value: b }, b))
  const kind = stage?.kind ?? 'sft'
  if (kind !== 'sft' && kind !== 'pretrain') issues.push(issue('DistributedStage', { path: 'distributed', value: kind }, kind))
  const nproc = distributed.nprocPerNode ?? 1
  const nnodes = distributed.nnodes ?? 1
  const world = nproc * nnodes
  const accumulation = args.gradientAccumulationSteps ?? 1
  if (accumulation % world !== 0) {
    const hintArgs: [number, number, number] = [world, args.batchSize ?? 8, accumulation]
    issues.push(issue('DistributedAccumulation', { path: 'distributed.nprocPerNode', value: nproc, hintArgs }, world, accumulation))
  }
  const nodeRank = distributed.nodeRank ?? 0
  if (nodeRank >= nnodes) issues.push(issue('DistributedNodeRank', { path: 'distributed.nodeRank', value: nodeRank }, nodeRank, nnodes))
  if ((distributed.strategy ?? 'ddp') === 'fsdp' && model.quantize !== undefined) {
    issues.push(issue('DistributedFsdpQuantized', { path: 'distributed.strategy', value: 'fsdp' }))
  }
  return issues
}
