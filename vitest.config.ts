import { availableParallelism } from 'node:os'
import { relative } from 'node:path'
import { defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'
import { testSeconds } from './test/durations.ts'

/** The longest files first (test/durations.ts), then vitest's own order: a long file started last keeps one core busy alone. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seconds = (f: TestSpecification): number => testSeconds[relative(f.project.config.root, f.moduleId)] ?? 0
    return (await super.sort(files)).map((f, i) => ({ f, i })).sort((a, b) => seconds(b.f) - seconds(a.f) || a.i - b.i).map(({ f }) => f)
  }
}

// Tests run on the TypeScript sources (the `source` export condition), no build step.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['./test/global-setup.ts'],
    // One test file per core: vitest's default leaves one core idle (cores − 1), which on a
    // 2-core CI machine runs the files one at a time; most files spend their time in one
    // single-threaded tfjs-wasm process or waiting on a Python worker.
    maxWorkers: availableParallelism(),
    sequence: { sequencer: LongestFirst },
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.typetest.json',
    },
  },
})
