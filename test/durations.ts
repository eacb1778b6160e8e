// Seconds each heavy test file took in CI (fresh clone, 2 cores; `time CI=true bash .ci/run`, 2026-12-01),
// files of 10 s and more. vitest.config.ts starts the longest first, so that no long file starts
// last and keeps one core busy alone at the end; a file not listed keeps vitest's order after them.
export const testSeconds: Record<string, number> = {
  'test/torch/grpo.test.ts': 55, // estimated from a loaded run; the next CI run replaces it
  'test/torch/grpo-backends.test.ts': 40, // estimated from a loaded run; the next CI run replaces it
  'test/torch/pissa.test.ts': 40, // estimated from a loaded run; the next CI run replaces it
  'test/trl/ppo.test.ts': 30, // estimated from a loaded run; the next CI run replaces it
  'test/torch/ppo.test.ts': 25, // estimated from a loaded run; the next CI run replaces it
  'test/torch/speed.test.ts': 20, // estimated from a loaded run; the next CI run replaces it
  'test/tfjs/ppo.test.ts': 12, // estimated from a loaded run; the next CI run replaces it
  'test/e2e/install-tarballs.test.ts': 152,
  'test/reliability/run-conditions.test.ts': 121,
  'test/cli/plan-graph.test.ts': 111,
  'test/trl/dpo.test.ts': 58,
  'test/e2e/tiny-chat.test.ts': 52,
  'test/core/typedoc.test.ts': 52,
  'test/torch/loraplus.test.ts': 51,
  'test/torch/distributed.test.ts': 46,
  'test/ui/ui.test.ts': 44,
  'test/torch/parity.test.ts': 44,
  'test/torch/methods.test.ts': 42,
  'test/cli/check.test.ts': 42,
  'test/cli/init.test.ts': 41,
  'test/compat/matrix.test.ts': 39,
  'test/reliability/data-inputs.test.ts': 36,
  'test/graph/activations.test.ts': 35,
  'test/torch/reproduce.test.ts': 35,
  'test/trl/orpo.test.ts': 34,
  'test/torch/train.test.ts': 33,
  'test/trl/kto.test.ts': 30,
  'test/cli/run.test.ts': 30,
  'test/torch/dora.test.ts': 30,
  'test/torch/driver.test.ts': 29,
  'test/torch/prompt-tuning.test.ts': 29,
  'test/trl/rm.test.ts': 28,
  'test/torch/score.test.ts': 27,
  'test/model/gguf-export.test.ts': 23,
  'test/cli/eval.test.ts': 21,
  'test/e2e/oasst-recipe.test.ts': 21,
  'test/torch/qa-parity.test.ts': 21,
  'test/torch/pretrain.test.ts': 20,
  'test/tfjs/dpo-chain.test.ts': 20,
  'test/torch/ia3.test.ts': 18,
  'test/trl/grpo.test.ts': 16,
  'test/torch/python.test.ts': 14,
  'test/torch/families-train.test.ts': 11,
  'test/model/python-interop.test.ts': 11,
}
