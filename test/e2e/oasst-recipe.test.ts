// The shipped 7B recipe's run path, on a stand-in: the same recipe file with --model-path (a tiny
// random Mistral in Hugging Face layout), --data-path (ChatML text rows as in oasst_top1) and
// --backend tfjs. It trains with the recipe's own settings — NF4 weights, LoRA r 64 on every
// projection, embed_tokens and lm_head saved, constant 2e-4, 3 epochs, eval and checkpoint per
// epoch — then merges and samples.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { runCli } from '@tunekit/cli'
import { oppositesDataset } from '@tunekit/recipes'

const root = fileURLToPath(new URL('../../', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'tunekit-oasst-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

type Event = { type: string; node?: string; key?: string; step?: number; loss?: number; message?: string }

async function run(...args: string[]): Promise<{ code: number; events: Event[]; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(['run', '--json', ...args], { cwd: work, out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, events: out.trim().split('\n').map((l) => JSON.parse(l) as Event), err }
}

it('recipes/mistral-oasst.ts runs end to end once weights and data are given', async () => {
  // A model folder: tiny-chat's model node writes a random Mistral with the real tokenizer.
  const model = await run(join(root, 'recipes/tiny-chat.ts'), '--until', 'model')
  expect(model.code).toBe(0)
  const modelDir = join(work, '.tunekit', 'cache', model.events.find((e) => e.type === 'node-start' && e.node === 'model')!.key!)
  // 32 conversations: 2 steps of 16 per epoch after the 5% eval split.
  writeFileSync(join(work, 'oasst.jsonl'), oppositesDataset().train.slice(0, 32).map((r) => `${JSON.stringify(r)}\n`).join(''))

  const r = await run(join(root, 'recipes/mistral-oasst.ts'), '--model-path', modelDir, '--data-path', 'oasst.jsonl', '--backend', 'tfjs')
  expect(r.err).toBe('')
  expect(r.code).toBe(0)
  const steps = r.events.filter((e) => e.type === 'step')
  // Logged at step 1, every args.logEvery (10) steps, and at the last step.
  expect(steps.map((e) => e.step)).toEqual([1, 6])
  // Eval and a checkpoint once per epoch, as the tutorial's eval/save strategy.
  expect(r.events.filter((e) => e.type === 'eval' && e.node === 'train').map((e) => e.step)).toEqual([2, 4, 6])
  // then the eval node: the trained adapter's eval loss, the same batches as the last epoch's eval
  const [last, node] = r.events.filter((e) => e.type === 'eval').slice(-2)
  expect(node).toMatchObject({ node: 'eval', step: 6 })
  expect(Math.abs(node!.loss! - last!.loss!) / last!.loss!).toBeLessThan(1e-5)
  expect(r.events.filter((e) => e.type === 'checkpoint').map((e) => e.step)).toEqual([2, 4, 6])
  expect(steps[1]!.loss!).toBeLessThan(steps[0]!.loss!)
  expect(r.events.some((e) => e.type === 'log' && /paged_adamw_32bit/.test(e.message ?? ''))).toBe(true)
  expect(r.events.filter((e) => e.type === 'sample')).toHaveLength(2)
  expect(r.events.at(-1)).toMatchObject({ type: 'run-end', ok: true })
})
