import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

// Tests run on the TypeScript sources (the `source` export condition), no build step.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One test file per core: vitest's default leaves one core idle (cores − 1), which on a
    // 2-core CI machine runs the files one at a time; most files spend their time in one
    // single-threaded tfjs-wasm process or waiting on a Python worker.
    maxWorkers: availableParallelism(),
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.typetest.json',
    },
  },
})
