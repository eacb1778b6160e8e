import type { Recipe } from '../define.ts'
import type { GraphBuilder } from '../graph/builder.ts'
import type { StageKind } from '../schema/stage.ts'

/**
 * One training stage (`recipe.stage.kind`): which nodes it adds and how they connect. Its options
 * schema is in schema/stage.ts (so the recipe schema needs no graph code); `compile` folds the
 * recipe's stage, then its eval and output choices, over one graph builder.
 */
export interface StageDefinition<K extends StageKind = StageKind> {
  kind: K
  /** One line for docs/graph.md and `tunekit graph`. */
  summary: string
  /** Adds the stage's nodes; returns the id of the node whose artifact is the trained model (`train`). */
  build: (builder: GraphBuilder, recipe: Recipe) => Promise<string>
  /** Other recipes whose graphs this one reads (ppo's reward model): compile includes each under `<name>/`, keys unchanged. */
  requires?: (recipe: Recipe) => readonly Recipe[]
  /** The stage adds its own nodes after training (qa); compile then adds no decoder outputs (eval loss, merge, samples, GGUF, score). */
  ownOutputs?: true
}

export const defineStage = <const K extends StageKind>(stage: StageDefinition<K>): StageDefinition<K> => stage
