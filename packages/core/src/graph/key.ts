import { canonicalJson, sha256 } from './hash.ts'
import type { Json, NodeKind, NodeRead } from './types.ts'

/** Bumped when the meaning of a key changes, so old cache entries are never mistaken for new ones. */
const KEY_VERSION = 1

/**
 * Content key of a node: sha256 over its kind, canonical params, its inputs' keys and the hashes
 * of the files it reads. Paths never enter the key, so moving a project keeps its cache valid.
 */
export function nodeKey(kind: NodeKind, params: { [key: string]: Json }, inputKeys: string[], reads: NodeRead[]): string {
  return sha256(canonicalJson({ v: KEY_VERSION, kind, params, inputs: inputKeys, reads: reads.map((r) => r.hash) }))
}
