import type { Recipe } from '../define.ts'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import { gb } from './memory.ts'
import type { Plan } from './plan.ts'

// The recipe key behind each group of the memory estimate, and its usual fix. Adapters, their
// gradients and optimizer states all grow with the trainable parameters, so with lora.rank.
const MEMORY_KEYS = {
  weights: { path: 'model.quantize', fix: 'Quantize the model (model.quantize: { bits: 4 }) or pick a smaller one.' },
  trainable: { path: 'lora.rank', fix: 'Lower lora.rank (8 to 64 is usual), train fewer modules, or use an 8-bit optimizer (args.optimizer).' },
  activations: { path: 'args.batchSize', fix: 'Lower args.batchSize or data.maxLength, or turn on model.gradientCheckpointing.' },
} as const

const valueAt = (recipe: Recipe, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), recipe)

/**
 * The plan's verdicts that stop `run` before its first node: the memory estimate over the
 * device's memory (`PlanDoesNotFit`, TK430, at the key behind the largest part) when `train` is
 * to run, and the disk the nodes to run write over the free space in the cache (`DiskWontFit`,
 * TK431). `visit` is the run's selection (`--until`, `--only`); default every node. Empty when it
 * fits or when a figure is unknown (an unknown is a note of the plan, not an error).
 */
export function planProblems(p: Plan, recipe: Recipe, visit: readonly string[] = p.nodes.map((n) => n.id)): Issue[] {
  const out: Issue[] = []
  const m = p.memory
  const training = p.nodes.some((n) => n.kind === 'train' && n.status === 'to run' && visit.includes(n.id))
  if (m && m.fits === false && p.backend.memoryBytes !== undefined && training) {
    const groups = { weights: m.weights, trainable: m.adapters + m.gradients + m.optimizer, activations: m.activations }
    const [largest, bytes] = (Object.entries(groups) as [keyof typeof groups, number][]).reduce((a, b) => (b[1] > a[1] ? b : a))
    const key = MEMORY_KEYS[largest]
    out.push(issue('PlanDoesNotFit', { path: key.path, value: valueAt(recipe, key.path), hintArgs: [key.fix] },
      `${p.backend.device} memory (${p.backend.engine})`, gb(m.total), gb(p.backend.memoryBytes),
      `${largest === 'trainable' ? 'adapters, their gradients and optimizer states' : largest} ${gb(bytes)}`))
  }
  const d = p.disk
  const parts = d ? d.parts.filter((x) => x.nodes.some((id) => visit.includes(id))) : []
  const need = parts.reduce((n, x) => n + x.bytes, 0)
  if (d && d.freeBytes !== null && need > d.freeBytes) {
    const names = parts.map((x) => `${x.name} ${gb(x.bytes)}`).join(', ')
    out.push(issue('DiskWontFit', { path: 'output.cacheDir', value: recipe.output.cacheDir }, d.folder, gb(need), gb(d.freeBytes), names))
  }
  return out
}
