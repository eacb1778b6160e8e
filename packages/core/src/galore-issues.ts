import { issue, type Issue } from './errors/tunekit-error.ts'

/** Methods whose trained tensors are the base's own 2-D weights, the ones GaLore projects. */
const FULL_RANK_METHODS = ['full', 'freeze', 'llama-pro']

/**
 * GaLore's checks (`args.optimizer: 'galore_adamw'`): the torch backend only, a method that trains the
 * base's weights (an adapter's matrices are low-rank already), and `args.galore` only with it.
 * Whether galore-torch is importable is the worker's to say (GaloreUnavailable).
 */
/** The recipe parts GaLore's checks read (define.ts's RecipeParts has them; named here so this file imports no define.ts back). */
interface GaloreParts {
  args?: { optimizer?: string | undefined; galore?: unknown } | undefined
  backend?: string | undefined
  method?: { kind?: string | undefined } | undefined
}

export function galoreIssues({ args = {}, backend, method }: GaloreParts): Issue[] {
  const issues: Issue[] = []
  const galore = args.optimizer === 'galore_adamw'
  if (galore && backend === 'tfjs') issues.push(issue('GaloreBackend', { path: 'args.optimizer', value: args.optimizer }))
  const kind = method?.kind ?? 'lora'
  if (galore && !FULL_RANK_METHODS.includes(kind)) issues.push(issue('GaloreNeedsFullRankMethod', { path: 'args.optimizer', value: args.optimizer }, kind))
  if (!galore && args.galore !== undefined) issues.push(issue('GaloreOptionsUnused', { path: 'args.galore', value: args.galore }, args.optimizer ?? 'adamw_torch'))
  return issues
}
