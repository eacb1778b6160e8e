import type { Recipe } from '../define.ts'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import { gb } from './memory.ts'
import type { Plan } from './plan.ts'

// The recipe key that drives each part of the memory estimate most, and its usual fix.
const MEMORY_KEYS = {
  weights: { path: 'model.quantize', fix: 'Quantize the model (model.quantize: { bits: 4 }) or pick a smaller one.' },
  adapters: { path: 'lora.rank', fix: 'Lower lora.rank (8 to 64 is usual) or train fewer modules.' },
  gradients: { path: 'lora.rank', fix: 'Lower lora.rank (8 to 64 is usual) or train fewer modules.' },
  optimizer: { path: 'args.optimizer', fix: 'Lower lora.rank, or use an 8-bit or paged optimizer (args.optimizer).' },
  activations: { path: 'args.batchSize', fix: 'Lower args.batchSize or data.maxLength, or turn on model.gradientCheckpointing.' },
} as const

const valueAt = (recipe: Recipe, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), recipe)

/**
 * The plan's verdicts that stop `run` before its first node: the memory estimate over the
 * device's memory (`PlanDoesNotFit`, TK430, at the key behind the largest part) and the disk
 * estimate over the free space in the cache (`DiskWontFit`, TK431). Empty when it fits or when a
 * figure is unknown (an unknown is a note of the plan, not an error).
 */
export function planProblems(p: Plan, recipe: Recipe): Issue[] {
  const out: Issue[] = []
  const m = p.memory
  if (m && m.fits === false && p.backend.memoryBytes !== undefined) {
    const parts = (['weights', 'adapters', 'gradients', 'optimizer', 'activations'] as const).map((k) => [k, m[k]] as const)
    const [largest] = parts.reduce((a, b) => (b[1] > a[1] ? b : a))
    const key = MEMORY_KEYS[largest]
    out.push(issue('PlanDoesNotFit', { path: key.path, value: valueAt(recipe, key.path), hintArgs: [key.fix] },
      `${p.backend.device} memory (${p.backend.engine}), ${largest} the largest part at ${gb(m[largest])}`, gb(m.total), gb(p.backend.memoryBytes)))
  }
  const d = p.disk
  if (d && d.fits === false && d.freeBytes !== null) {
    const parts = d.parts.map((x) => `${x.name} ${gb(x.bytes)}`).join(', ')
    out.push(issue('DiskWontFit', { path: 'output.cacheDir', value: recipe.output.cacheDir }, d.folder, gb(d.total), gb(d.freeBytes), parts))
  }
  return out
}
