// Wiring: which executor runs each node kind. The data nodes and the model node always run in
// TypeScript (@tunekit/data); train, merge, generate and eval run on the backend the recipe
// resolves to. Backends are imported only when a command needs one: loading TensorFlow.js or
// probing Python costs seconds that `plan`, `graph` and `check` should not pay.
import { resolveBackend, type Backend, type NodeExecutor, type NodeKind, type Recipe, type ResolvedBackend } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor } from '@tunekit/data/model'

type BackendName = Backend['name']

/** Loads one backend package and builds its backend (heavy imports happen here). */
export async function loadBackend(name: BackendName): Promise<Backend> {
  if (name === 'torch') {
    const { createTorchBackend } = await import('@tunekit/torch')
    return createTorchBackend()
  }
  const { createTfjsBackend } = await import('@tunekit/tfjs')
  return createTfjsBackend()
}

/** The backends `backend: 'auto'` chooses among, or just the one a recipe names. */
async function candidates(choice: Recipe['backend']): Promise<Backend[]> {
  const names: BackendName[] = choice === 'auto' ? ['torch', 'tfjs'] : [choice]
  return Promise.all(names.map(loadBackend))
}

/** Executors for every node kind of a run, and the backend that runs the backend nodes. */
export interface Wiring {
  executors: Partial<Record<NodeKind, NodeExecutor>>
  resolved: ResolvedBackend<Backend>
  /** Releases the backends that were loaded (worker processes, tensors). */
  dispose: () => Promise<void>
}

/**
 * Resolves the recipe's backend (see `resolveBackend` in core: `'auto'` is torch with CUDA, else
 * tfjs) and returns the executors a run needs: data's, the model node's, then the backend's.
 */
export async function wire(recipe: Pick<Recipe, 'backend' | 'device'>): Promise<Wiring> {
  const loaded = await candidates(recipe.backend)
  const resolved = await resolveBackend(recipe, loaded)
  const executors: Partial<Record<NodeKind, NodeExecutor>> = {
    ...dataExecutors,
    model: modelExecutor,
    ...resolved.backend.executors,
  }
  const dispose = async (): Promise<void> => {
    await Promise.all(loaded.map((b) => b.dispose?.()))
  }
  return { executors, resolved, dispose }
}
