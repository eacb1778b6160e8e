// The vision families through the real pipeline on the torch backend (tiny random LLaVA and
// Qwen2-VL of test/vision/tiny-vision.ts, a few shapes images): a LLaVA LoRA run stopped after
// step 1 resumes bit-exactly (its pixel shards line up with the batch plan after the restart);
// `tunekit chat <base> --adapter <run>/adapter --image` answers as the merged folder does, for
// LLaVA and for a packed Qwen2-VL run. The worker's pytest (tests/test_vision.py) holds the
// oracles: merged logits = PEFT's adapted ones, `complete` = transformers' generate, packed = unpacked.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { defineRecipe, file, type Recipe, type RunEvent } from '@tunekit/core'
import { chat, chatImage, trainingTemplate } from '@tunekit/cli'
import { readAdapter } from '@tunekit/hf'
import { writeShapesDataset } from '@tunekit/recipes'
import { createTorchBackend } from '@tunekit/torch'
import { describe, expect, it } from 'vitest'
import { tinyTokenizer } from '../data/helpers.ts'
import { python, runRecipe, tempDir, type Run } from '../torch/helpers.ts'
import { tinyLlavaConfig, tinyQwen2VlConfig } from './tiny-vision.ts'

const backend = createTorchBackend({ python })
const data = await writeShapesDataset(tempDir('shapes'), { seed: 1, count: 4, colours: 2, heldOut: 0.25 })
const readState = (dir: string): { step: number; lossHistory: number[] } => JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8'))

function visionRecipe(family: 'llava' | 'qwen2_vl'): Recipe {
  return defineRecipe({
    name: `tiny-${family}`,
    model: family === 'llava'
      ? { id: 'llava-hf/llava-1.5-7b-hf', family, dtype: 'float32', random: { seed: 0, tokenizer: tinyTokenizer, config: tinyLlavaConfig } }
      : { id: 'Qwen/Qwen2-VL-2B-Instruct', family, dtype: 'float32', random: { seed: 0, tokenizer: tinyTokenizer, config: tinyQwen2VlConfig } },
    lora: { rank: 4, alpha: 8, dropout: 0, trainableTokens: true, targetModules: family === 'llava' ? ['q_proj', 'v_proj', 'linear_1', 'linear_2'] : ['q_proj', 'v_proj', 'mlp.0', 'mlp.2'] },
    tokens: { chatml: true },
    // Qwen2-VL packs its samples (M-RoPE positions per segment: the worker's pytest checks them against the unpacked loss)
    data: { source: file(data.trainFile), format: 'openai', template: 'chatml', mask: 'assistant', maxLength: 96, split: { eval: 0 }, packing: family === 'qwen2_vl' },
    // 3 images, 6 questions, 2 a step: 3 steps
    args: { batchSize: 2, epochs: 1, learningRate: 1e-2, evalEvery: 'never', saveEvery: 'never', logEvery: 1, seed: 3, shuffle: true },
    backend: 'torch',
    device: 'cpu',
    output: { merge: true },
  })
}

const questions = ['What colour is the square?', 'What shape is red?']
let llava: Run | undefined
const llavaRun = async (): Promise<Run> => (llava ??= await runRecipe(visionRecipe('llava'), backend))

/** `tunekit chat` answers (non-interactive: one line per question) with `--image`, greedy, 6 tokens. */
async function chatAnswers(model: string, opts: { adapter?: string; image: string }, questions: string[]): Promise<string[]> {
  let out = ''
  const ctx = { cwd: tempDir('chat'), out: (t: string) => void (out += t), err: () => undefined, signal: new AbortController().signal, exitCode: 0 }
  await chat(ctx, model, { ...opts, backend: 'torch', maxNewTokens: '6', temperature: '0' }, Readable.from(questions.map((q) => `${q}\n`)))
  return out.split('\n').slice(0, -1)
}

describe('vision families on torch (cpu)', { timeout: 400_000 }, () => {
  it('LLaVA: a run stopped after step 1 resumes where it stopped, images and all, to the same bits', async () => {
    const reference = await llavaRun()
    const cacheDir = tempDir('vision-resume')
    const abort = new AbortController()
    const seen: RunEvent[] = []
    const recipe = visionRecipe('llava')
    const error = await runRecipe(recipe, backend, {
      cacheDir, until: 'train', signal: abort.signal,
      onEvent: (e) => {
        seen.push(e)
        if (e.type === 'step' && e.step === 1) abort.abort()
      },
    }).then(() => undefined, (e: unknown) => e)
    expect((error as { code?: string }).code).toBe('TK404')
    const saved = seen.filter((e) => e.type === 'checkpoint').map((e) => e.step)
    expect(saved.at(-1)).toBeLessThan(readState(reference.artifact('train')).step)
    const resumed = await runRecipe(recipe, backend, { cacheDir, until: 'train' })
    expect(resumed.events.find((e) => e.type === 'step')).toMatchObject({ step: saved.at(-1)! + 1 })
    expect(readState(resumed.artifact('train')).lossHistory).toEqual(readState(reference.artifact('train')).lossHistory)
    const [a, b] = [await readAdapter(reference.artifact('train')), await readAdapter(resumed.artifact('train'))]
    expect([...a.tensors.keys()].some((k) => k.includes('multi_modal_projector.linear_1.lora_A'))).toBe(true)
    for (const [key, t] of a.tensors) expect(b.tensors.get(key)!.data, key).toEqual(t.data)
  })

  it('LLaVA: chat --adapter --image on the base answers as the merged folder does', async () => {
    const run = await llavaRun()
    const image = data.heldOut[0]!.image
    const adapted = await chatAnswers(run.artifact('model'), { adapter: run.artifact('train'), image }, questions)
    expect(adapted).toHaveLength(2)
    expect(adapted).toEqual(await chatAnswers(run.artifact('merge'), { image }, questions))
    // and the adapter was applied: the base alone (no chat template of its own: the prompt as chat renders it) answers otherwise
    const pixels = await chatImage(image, run.artifact('model'), join(run.artifact('train'), 'tokenizer'))
    const prompt = pixels.expand(`${trainingTemplate([run.artifact('train')]).bos}<|im_start|>user\n<image>${questions[0]}<|im_end|>\n<|im_start|>assistant\n`)
    const ask = (adapter?: string) => backend.generate({ model: run.artifact('model'), ...(adapter ? { adapter } : {}), prompt, images: [pixels.image], maxNewTokens: 6 })
    const [withAdapter, base] = [await ask(run.artifact('train')), await ask()]
    expect(withAdapter.trim()).toBe(adapted[0])
    expect(base).not.toBe(withAdapter)
  })

  it('Qwen2-VL (packed): chat --adapter --image on the base answers as the merged folder does', async () => {
    const run = await runRecipe(visionRecipe('qwen2_vl'), backend)
    const plan = JSON.parse(readFileSync(join(run.artifact('collate'), 'plan.json'), 'utf8')) as { epochsPlan: Array<{ microBatches: Array<{ rows: unknown[][] }> }> }
    expect(plan.epochsPlan[0]!.microBatches.some((mb) => mb.rows.some((row) => row.length > 1))).toBe(true) // samples packed in a row
    const image = data.heldOut[0]!.image
    const adapted = await chatAnswers(run.artifact('model'), { adapter: run.artifact('train'), image }, questions)
    expect(adapted).toHaveLength(2)
    expect(adapted).toEqual(await chatAnswers(run.artifact('merge'), { image }, questions))
    expect(JSON.parse(readFileSync(join(run.artifact('merge'), 'config.json'), 'utf8')).architectures).toEqual(['Qwen2VLForConditionalGeneration'])
  })
})
