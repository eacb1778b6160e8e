// The torch backend's score node: prompts are rendered and encoded here (as for tfjs, so both
// backends answer the same ids), the worker generates ids from them, and the answers are decoded
// and scored here with @tunekit/eval.
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { nodeParams, type NodeContext } from '@tunekit/core'
import { heldOutExamples, referenceTurn } from '@tunekit/data'
import { writeScore } from '@tunekit/eval'

/** Where the TS side puts the prompts (one `{ "ids": [...] }` per line) and the worker its answers (`{ "ids": [...] }`). */
export const SCORE_FILES = { prompts: 'score-prompts.jsonl', answers: 'score-answers.jsonl' } as const

/** Writes the held-out prompts for the worker; returns the examples and the tokenizer that decodes the answers. */
export async function prepareScore(ctx: NodeContext): Promise<Awaited<ReturnType<typeof heldOutExamples>>> {
  const p = nodeParams('score', ctx.node)
  const held = await heldOutExamples(ctx, p.examples)
  await mkdir(ctx.workDir, { recursive: true })
  // Stop ids: the tokenizer's eos (tokens.eos, e.g. <|im_end|>), as tfjs's generation stops.
  const lines = held.examples.map((e) => JSON.stringify({ ids: e.ids, eos: [held.tokenizer.eos.id] }))
  await writeFile(join(ctx.workDir, SCORE_FILES.prompts), lines.map((l) => `${l}\n`).join(''))
  return held
}

/** Decodes the worker's answers and writes the report (after the worker ran). */
export async function finishScore(ctx: NodeContext, held: Awaited<ReturnType<typeof heldOutExamples>>): Promise<void> {
  const p = nodeParams('score', ctx.node)
  const text = await readFile(join(ctx.workDir, SCORE_FILES.answers), 'utf8')
  const answers = text.split('\n').filter((l) => l !== '').map((l) => held.tokenizer.decode((JSON.parse(l) as { ids: number[] }).ids))
  if (answers.length !== held.examples.length) throw new Error(`score: the worker answered ${answers.length} of ${held.examples.length} prompts`)
  await writeScore(ctx, p, held.examples.map((e) => ({ id: e.id, reference: referenceTurn(e.reference) })), answers)
}
