// Calls the Python references with JSON on stdin and reads JSON back.
import { expect } from 'vitest'
import { runReference } from '../python.ts'

/** Runs `code` (which reads `data = json.load(sys.stdin)` and prints one JSON value) with `input`. */
export function referenceJson<T>(code: string, input: unknown): T {
  return JSON.parse(runReference(`import json, sys\ndata = json.load(sys.stdin)\n${code}`, JSON.stringify(input))) as T
}

/** Asserts two numbers agree within `tolerance` (absolute), naming what is compared. */
export function close(actual: number, expected: number, what: string, tolerance = 1e-6): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs the reference's ${expected}`).toBeLessThanOrEqual(tolerance)
}
