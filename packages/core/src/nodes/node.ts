import type { z } from 'zod'
import type { Recipe } from '../define.ts'

/** Read-only view of a params type: the fill functions read a frozen recipe. */
export type ReadonlyParams<T> = T extends readonly (infer U)[]
  ? readonly ReadonlyParams<U>[]
  : T extends object
    ? { readonly [K in keyof T]: ReadonlyParams<T[K]> }
    : T

/**
 * One node kind (docs/design.md, "The graph"): the zod schema of its params and the function that fills
 * them from the resolved recipe. Data only; `compile` and the stages use `params`, every executor
 * parses `node.params` with `schema` on its first line, and the Python worker's dataclasses are
 * generated from `schema` (scripts/gen-python-params.ts).
 */
export interface NodeDefinition<K extends string = string, S extends z.ZodType = z.ZodType> {
  kind: K
  /** Params of the node: resolved recipe values, no defaults (see `resolvedSchema`). */
  schema: S
  /** `data` nodes run in TypeScript (`@tunekit/data`, `@tunekit/hf`), the rest on the recipe's backend. */
  runsOn: 'data' | 'backend'
  /** What the artifact folder holds, for docs/graph.md's node table. */
  artifact: string
  /** The node's params from the resolved recipe. */
  params: (recipe: Recipe) => ReadonlyParams<z.output<S>>
}

/** Defines a node kind, keeping its literal kind and schema types. */
export const defineNode = <const K extends string, S extends z.ZodType>(definition: NodeDefinition<K, S>): NodeDefinition<K, S> => definition
