// The worker's params dataclasses are generated from the node schemas: the file in the package must
// be what the generator writes now, so a schema change cannot leave the worker on an old contract.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { PARAMS_PY, pythonParamsSource } from '../../scripts/python-params.ts'

describe('tunekit_torch/params.py', () => {
  it('is what scripts/gen-python-params.ts generates from the node schemas (run it after changing a schema)', () => {
    const onDisk = readFileSync(fileURLToPath(new URL(`../../${PARAMS_PY}`, import.meta.url)), 'utf8')
    expect(onDisk === pythonParamsSource(), 'stale: run npx tsx scripts/gen-python-params.ts').toBe(true)
  })

  it('has a dataclass per object of the train schema, with no defaults but None for optional keys', () => {
    const source = pythonParamsSource()
    expect(source.match(/^class \w+/gm)).toEqual([
      'class TrainParamsModelQuantize', 'class TrainParamsModelRandom', 'class TrainParamsModelVision', 'class TrainParamsModel', 'class TrainParamsTokens',
      'class TrainParamsMethodLoraLoftqConfig', 'class TrainParamsMethodLora', 'class TrainParamsMethodFull', 'class TrainParamsMethodFreeze', 'class TrainParamsMethodIa3', 'class TrainParamsMethodPromptTuning', 'class TrainParamsMethodPTuning', 'class TrainParamsMethodPrefixTuning', 'class TrainParamsMethodLlamaPro', 'class TrainParamsArgsGalore', 'class TrainParamsArgs', 'class TrainParamsObjectiveDpo',
      'class TrainParamsObjectiveOrpo', 'class TrainParamsObjectiveSimpo', 'class TrainParamsObjectiveKto', 'class TrainParamsObjectiveRm', 'class TrainParamsObjectiveGrpo', 'class TrainParamsObjectivePpoRewardModel0', 'class TrainParamsObjectivePpoRewardModel1', 'class TrainParamsObjectivePpo', 'class TrainParams',
      'class RefLogprobsParamsQuantize', 'class RefLogprobsParams', 'class MergeParams', 'class GenerateParams', 'class EvalParamsQuantize', 'class EvalParams',
      'class ScoreParamsQuantize', 'class ScoreParams',
      'class QaTrainParamsModelQuantize', 'class QaTrainParamsModelRandom', 'class QaTrainParamsModelVision', 'class QaTrainParamsModel', 'class QaTrainParamsMethodLoraLoftqConfig', 'class QaTrainParamsMethodLora',
      'class QaTrainParamsMethodFull', 'class QaTrainParamsMethodFreeze', 'class QaTrainParamsMethodIa3', 'class QaTrainParamsMethodPromptTuning', 'class QaTrainParamsMethodPTuning', 'class QaTrainParamsMethodPrefixTuning', 'class QaTrainParamsMethodLlamaPro', 'class QaTrainParamsArgsGalore', 'class QaTrainParamsArgs', 'class QaTrainParams',
    ])
    expect(source).toContain('    learning_rate: float = field(metadata={"json": "learningRate"})')
    expect(source).toContain('    max_steps: int | None = field(default=None, metadata={"json": "maxSteps"})')
    expect(source.match(/default=(?!None)/g)).toBeNull()
  })
})
