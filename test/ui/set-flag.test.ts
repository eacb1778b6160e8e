// `--set key=value` (every recipe command, and the dashboard's start form, which sends its
// changed fields as these flags): nesting by dots, JSON values, and the recipe's own checks.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { isTunekitError, type Graph } from '@tunekit/core'
import { parseSetFlags, runCli } from '@tunekit/cli'

const recipe = fileURLToPath(new URL('../../recipes/tiny-chat.ts', import.meta.url))

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(args, { cwd: mkdtempSync(join(tmpdir(), 'tunekit-set-')), out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

describe('--set key=value', () => {
  it('nests dotted keys and reads values as JSON when they parse, else as text', () => {
    expect(parseSetFlags(['args.maxSteps=20', 'args.learningRate=1e-4', 'output.samples=["a b"]', 'name=my-run', 'args.maxSteps=30', 'lora.useDora=true'])).toEqual({
      args: { maxSteps: 30, learningRate: 1e-4 },
      output: { samples: ['a b'] },
      name: 'my-run',
      lora: { useDora: true },
    })
  })

  it('refuses a flag without a key', () => {
    const errors = ['maxSteps', '=3', 'args..maxSteps=3'].map((flag) => {
      try {
        parseSetFlags([flag])
        return 'accepted'
      } catch (e) {
        return isTunekitError(e) ? e.message : String(e)
      }
    })
    expect(errors.join('\n')).toMatchInlineSnapshot(`
      "A --set override is not key=value
      ✖ TK720 --set "maxSteps": expected a dotted recipe key, "=", then the value → at --set
        value: "maxSteps"
        fix: Write --set args.maxSteps=20 (the value is read as JSON when it parses: numbers, true/false, "text", [lists]; else as text).
      A --set override is not key=value
      ✖ TK720 --set "=3": expected a dotted recipe key, "=", then the value → at --set
        value: "=3"
        fix: Write --set args.maxSteps=20 (the value is read as JSON when it parses: numbers, true/false, "text", [lists]; else as text).
      A --set override is not key=value
      ✖ TK720 --set "args..maxSteps=3": expected a dotted recipe key, "=", then the value → at --set
        value: "args..maxSteps=3"
        fix: Write --set args.maxSteps=20 (the value is read as JSON when it parses: numbers, true/false, "text", [lists]; else as text)."
    `)
  })

  it('changes the compiled graph, and a bad value is the recipe check of the file itself', async () => {
    const changed = await cli('graph', recipe, '--format', 'json', '--set', 'args.maxSteps=7', '--set', 'lora.rank=4')
    expect(changed.err).toBe('')
    const train = (JSON.parse(changed.out) as Graph).nodes.find((n) => n.id === 'train')!.params as { args: { maxSteps: number }; method: { rank: number } }
    expect([train.args.maxSteps, train.method.rank]).toEqual([7, 4])
    const bad = await cli('graph', recipe, '--set', 'args.maxSteps=-1', '--set', 'args.nope=1')
    expect(bad.code).toBe(1)
    expect(bad.err).toMatchInlineSnapshot(`
      "Recipe has 2 problems
      ✖ TK103 expected a number > 0 → at args.maxSteps
        value: -1
        fix: Pick a value inside the range; the key documentation gives typical values.
      ✖ TK102 unknown key "nope"; allowed keys here: batchSize, gradientAccumulationSteps, epochs, maxSteps, learningRate, lrScheduler, warmupSteps, warmupRatio, optimizer, galore, weightDecay, adamBeta1, adamBeta2, adamEpsilon, maxGradNorm, groupByLength, shuffle, evalEvery, saveEvery, keepCheckpoints, seed, logEvery, paddingFree, chunkedLoss, torchCompile → at args.nope
        value: 1
        fix: Check the spelling; keys are camelCase (rank, learningRate, targetModules).
      "
    `)
  })
})
