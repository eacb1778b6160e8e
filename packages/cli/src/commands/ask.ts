// `tunekit ask <folder> --context <text|@file> --question <text>`: the answer of a question-answering
// model (a qa run's BertForQuestionAnswering folder) to one question about one context, as
// transformers' QA pipeline post-processes it (@tunekit/tfjs answerQuestion).
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import { fail } from '@tunekit/core'
import { checkModelFolder } from '@tunekit/hf'
import { answerQuestion, selectEngine } from '@tunekit/tfjs'
import type { CliCommand, CliContext } from '../context.ts'

export interface AskCliOptions {
  context: string
  question: string
  topK: string
  maxAnswerLength: string
  allowNoAnswer?: boolean
  device: 'auto' | 'cpu' | 'wasm'
  json?: boolean
}

/** The context text: the option itself, or the file after `@` (relative to the working folder). */
function contextText(ctx: CliContext, value: string): string {
  if (!value.startsWith('@')) return value
  const file = resolve(ctx.cwd, value.slice(1))
  if (!existsSync(file)) fail('QaAskContextMissing', { path: '--context', value }, value.slice(1))
  return readFileSync(file, 'utf8')
}

async function ask(ctx: CliContext, folder: string, opts: AskCliOptions): Promise<void> {
  const dir = resolve(ctx.cwd, folder)
  checkModelFolder(dir, 'bert')
  const context = contextText(ctx, opts.context)
  await selectEngine(opts.device)
  const answers = await answerQuestion(dir, context, opts.question, { topK: Number(opts.topK), maxAnswerLength: Number(opts.maxAnswerLength), handleImpossible: opts.allowNoAnswer === true })
  if (opts.json) return void ctx.out(`${JSON.stringify(answers)}\n`)
  for (const a of answers) ctx.out(`${a.answer === '' ? '(no answer)' : a.answer}\n`)
  ctx.err(answers.map((a) => `score ${a.score.toFixed(4)}, characters ${a.start}–${a.end}`).join('\n') + '\n')
}

export const askCommand: CliCommand = (ctx) =>
  new Command('ask')
    .description("Answer a question about a context with a question-answering model (a qa run's trained folder).")
    .argument('<model>', 'BertForQuestionAnswering folder (the qa-train artifact, or any such folder with tokenizer.json)')
    .requiredOption('--context <text>', 'the passage to answer from, or @file to read it from a text file')
    .requiredOption('--question <text>', 'the question')
    .option('--top-k <n>', 'answers to print, best first', '1')
    .option('--max-answer-length <n>', 'longest answer in tokens', '15')
    .option('--allow-no-answer', "allow the null answer (SQuAD v2 models): prints '(no answer)'")
    .addOption(new Option('--device <name>', 'tfjs engine').choices(['auto', 'cpu', 'wasm']).default('auto'))
    .option('--json', 'print the answers as JSON (answer, score, start, end in characters of the context)')
    .action(async (folder: string, opts: AskCliOptions) => {
      await ask(ctx, folder, opts)
    })
