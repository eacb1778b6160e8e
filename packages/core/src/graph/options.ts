/** Options of `compile` (graph/compile.ts), in a file of their own so that what compile uses can name them. */
export interface CompileOptions {
  /** Folder of the recipe file; relative paths in the recipe resolve from here. */
  baseDir: string
  /** Artifact cache; when given, file hashes are remembered in `<cacheDir>/file-hashes.json`. */
  cacheDir?: string
  /** Environment for model lookup (`TUNEKIT_MODEL_PATH`, `HF_HOME`, `HF_HUB_CACHE`). */
  env?: Record<string, string | undefined>
}
