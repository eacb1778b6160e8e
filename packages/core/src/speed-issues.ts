// The torch backend's speed options (args.paddingFree, args.chunkedLoss, args.torchCompile) with the
// rest of the recipe (checkRecipe runs them).
import { issue, type Issue } from './errors/tunekit-error.ts'

/** The speed options, in the order their issues are reported. */
export const torchSpeedOptions = ['paddingFree', 'chunkedLoss', 'torchCompile'] as const

/** The parts of a recipe the checks read (possibly partial, before defaults). */
export interface SpeedParts {
  backend?: string | undefined
  stage?: { kind?: string | undefined } | undefined
  args?: { paddingFree?: boolean | undefined; chunkedLoss?: boolean | undefined; torchCompile?: boolean | undefined } | undefined
}

/**
 * Each speed option that is on needs the torch backend (the tfjs backend has no such layout, kernel
 * or compiler) and the sft or pretrain stage (the loop that reads the batch plan's micro-batches;
 * the other stages compute their losses in their own loops).
 */
export function speedIssues({ backend, stage, args = {} }: SpeedParts): Issue[] {
  const issues: Issue[] = []
  const b = backend ?? 'auto'
  const kind = stage?.kind ?? 'sft'
  for (const option of torchSpeedOptions) {
    if (args[option] !== true) continue
    const path = `args.${option}`
    if (b !== 'torch') issues.push(issue('TorchSpeedNeedsTorch', { path, value: true, hintArgs: [option] }, option, b))
    if (kind !== 'sft' && kind !== 'pretrain') issues.push(issue('TorchSpeedStage', { path, value: true, hintArgs: [option] }, option, kind))
  }
  return issues
}
