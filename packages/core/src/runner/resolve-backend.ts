import type { Backend, BackendCapabilities } from '../backend.ts'
import type { Recipe } from '../define.ts'
import { fail } from '../errors/tunekit-error.ts'

/** Something that can say what a backend can do here: a loaded `Backend`, or a cheap probe. */
export type BackendProbe = Pick<Backend, 'name' | 'capabilities'>

/** The outcome of {@link resolveBackend}. */
export interface ResolvedBackend<B extends BackendProbe = BackendProbe> {
  backend: B
  capabilities: BackendCapabilities
  /** Why this backend, in one sentence, for the run's `backend` event and `plan`. */
  reason: string
  /** Every backend considered and what it reported (or why it could not run). */
  considered: { name: string; capabilities?: BackendCapabilities; error?: string }[]
}

/**
 * Picks the backend for a recipe from what each available backend reports (data-driven: the
 * backends describe themselves, core decides). `'auto'`: torch when it reports a CUDA device,
 * else tfjs, else torch on the CPU. An explicit backend must be available and must offer the
 * recipe's `device` when one is set. Throws `BackendUnavailable` (TK402) otherwise.
 */
export async function resolveBackend<B extends BackendProbe>(recipe: Pick<Recipe, 'backend' | 'device'>, available: readonly B[]): Promise<ResolvedBackend<B>> {
  const considered: ResolvedBackend['considered'] = []
  const usable: { backend: B; capabilities: BackendCapabilities }[] = []
  for (const backend of available) {
    try {
      const capabilities = await backend.capabilities()
      considered.push({ name: backend.name, capabilities })
      usable.push({ backend, capabilities })
    } catch (e) {
      considered.push({ name: backend.name, error: e instanceof Error ? e.message : String(e) })
    }
  }
  const fits = (c: BackendCapabilities): boolean => recipe.device === 'auto' || c.device === recipe.device
  const summary = (): string =>
    considered.map((c) => (c.capabilities ? `${c.name}: ${c.capabilities.engine} on ${c.capabilities.device}` : `${c.name}: ${c.error}`)).join('; ') || 'no backend is installed'
  const pick = (entry: { backend: B; capabilities: BackendCapabilities }, reason: string): ResolvedBackend<B> => ({ ...entry, reason, considered })

  if (recipe.backend !== 'auto') {
    const entry = usable.find((u) => u.backend.name === recipe.backend)
    if (!entry) {
      const why = considered.find((c) => c.name === recipe.backend)?.error ?? 'it is not installed'
      return fail('BackendUnavailable', { path: 'backend', value: recipe.backend, hintArgs: [fixFor(recipe.backend)] }, recipe.backend, why)
    }
    if (!fits(entry.capabilities)) {
      return fail('BackendUnavailable', { path: 'device', value: recipe.device, hintArgs: [`Set device: 'auto' or '${entry.capabilities.device}'.`] }, recipe.backend,
        `it runs on ${entry.capabilities.device} here (${entry.capabilities.engine}), not on ${recipe.device}`)
    }
    return pick(entry, `backend '${recipe.backend}' was asked for; ${entry.capabilities.engine} on ${entry.capabilities.device} (${entry.capabilities.reason})`)
  }

  const cuda = usable.find((u) => u.backend.name === 'torch' && u.capabilities.device === 'cuda' && fits(u.capabilities))
  if (cuda) return pick(cuda, `auto: torch reports a CUDA device (${cuda.capabilities.engine}: ${cuda.capabilities.reason})`)
  const tfjs = usable.find((u) => u.backend.name === 'tfjs' && fits(u.capabilities))
  if (tfjs) {
    const torch = considered.find((c) => c.name === 'torch')
    const noCuda = !torch ? 'torch is not installed' : torch.error ? `torch is unavailable (${torch.error})` : `torch reports ${torch.capabilities!.device}, not CUDA`
    return pick(tfjs, `auto: ${noCuda}, so tfjs (${tfjs.capabilities.engine}: ${tfjs.capabilities.reason})`)
  }
  const torchCpu = usable.find((u) => u.backend.name === 'torch' && fits(u.capabilities))
  if (torchCpu) return pick(torchCpu, `auto: tfjs is unavailable, so torch on ${torchCpu.capabilities.device}`)
  return fail('BackendUnavailable', { path: 'backend', value: recipe.backend, hintArgs: [fixFor('tfjs')] }, 'auto', summary())
}

const fixFor = (name: string): string =>
  name === 'torch'
    ? "Install the torch worker's Python environment (see @tunekit/torch's README), or set backend: 'tfjs'."
    : "Install @tunekit/tfjs (npm install @tunekit/tfjs), or set backend: 'torch'."
