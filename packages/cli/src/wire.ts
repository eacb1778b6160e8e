// Wiring: which executor runs each node kind. The data nodes, the model node and the export node
// always run in TypeScript (@tunekit/data, @tunekit/hf); train, merge, generate and eval run on the backend the recipe
// resolves to. Backends are imported only when a command needs one: loading TensorFlow.js or
// probing Python costs seconds that `plan`, `graph` and `check` should not pay.
import { resolveBackend, type Backend, type NodeExecutor, type NodeKind, type Recipe, type ResolvedBackend } from '@tunekit/core'

type BackendName = Backend['name']

/** Loads one backend package and builds its backend (heavy imports happen here). */
export async function loadBackend(name: BackendName, device: Recipe['device'] = 'auto'): Promise<Backend> {
  if (name === 'torch') {
    const { createTorchBackend } = await import('@tunekit/torch')
    return createTorchBackend()
  }
  const { createTfjsBackend } = await import('@tunekit/tfjs')
  return createTfjsBackend({ device })
}

/** The backends `backend: 'auto'` chooses among, or just the one a recipe names. */
async function candidates(choice: Recipe['backend'], device: Recipe['device']): Promise<Backend[]> {
  const names: BackendName[] = choice === 'auto' ? ['torch', 'tfjs'] : [choice]
  return Promise.all(names.map((name) => loadBackend(name, device)))
}

/** Executors for every node kind of a run, and the backend that runs the backend nodes. */
export interface Wiring {
  executors: Partial<Record<NodeKind, NodeExecutor>>
  /** The backend that runs train, merge and generate; absent when `wire` was told none is needed. */
  resolved?: ResolvedBackend<Backend>
  /** Releases the backends that were loaded (worker processes, tensors). */
  dispose: () => Promise<void>
}

/**
 * Resolves the recipe's backend (see `resolveBackend` in core: `'auto'` is torch with CUDA, else
 * tfjs) and returns the executors a run needs: data's, the model and export nodes', then the backend's.
 * With `backend: false` (a run that only touches data nodes) no backend is loaded.
 */
export async function wire(recipe: Pick<Recipe, 'backend' | 'device'>, opts: { backend?: boolean } = {}): Promise<Wiring> {
  const [{ dataExecutors }, { modelExecutor, exportExecutor }] = await Promise.all([import('@tunekit/data'), import('@tunekit/hf')])
  const typescript = { ...dataExecutors, model: modelExecutor, export: exportExecutor }
  if (opts.backend === false) return { executors: typescript, dispose: async () => {} }
  const loaded = await candidates(recipe.backend, recipe.device)
  const resolved = await resolveBackend(recipe, loaded)
  const executors: Partial<Record<NodeKind, NodeExecutor>> = {
    ...typescript,
    ...resolved.backend.executors,
  }
  const dispose = async (): Promise<void> => {
    await Promise.all(loaded.map((b) => b.dispose?.()))
  }
  return { executors, resolved, dispose }
}
