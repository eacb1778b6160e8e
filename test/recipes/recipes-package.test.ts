import { describe, expect, test } from 'vitest'
import { hub, inline, isTunekitError } from '@tunekit/core'
import { allOppositeQuestions, chatmlText, loraChatml, oppositePairs, oppositePhrasings, oppositesDataset, oppositePreferences, qloraChatml } from '@tunekit/recipes'

const model = { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' } as const
const data = { source: hub('OpenAssistant/oasst_top1_2023-08-25') }

describe('qloraChatml', () => {
  test('carries the qlora-minimal tutorial settings', () => {
    const r = qloraChatml({ model, data })
    expect({ quantize: r.model.quantize, tokens: r.tokens, lora: r.lora, maxLength: r.data.maxLength, mask: r.data.mask, args: r.args })
      .toMatchObject({
        quantize: { bits: 4, type: 'nf4', computeDtype: 'bfloat16' },
        tokens: { chatml: true },
        lora: {
          rank: 64, alpha: 16, dropout: 0.1,
          targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
          modulesToSave: ['lm_head', 'embed_tokens'],
        },
        maxLength: 512,
        mask: 'all',
        args: {
          batchSize: 16, gradientAccumulationSteps: 1, epochs: 3, learningRate: 2e-4, lrScheduler: 'constant',
          optimizer: 'paged_adamw_32bit', groupByLength: true, evalEvery: 'epoch', saveEvery: 'epoch',
        },
      })
    expect(r.data.format).toBe('chatml-text')
  })

  test('overrides merge objects and replace arrays', () => {
    const r = qloraChatml({ model, data, lora: { rank: 16, targetModules: ['q_proj', 'v_proj'] }, args: { epochs: 1 } })
    expect(r.lora).toMatchObject({ rank: 16, alpha: 16, targetModules: ['q_proj', 'v_proj'], modulesToSave: ['lm_head', 'embed_tokens'] })
    expect(r.args).toMatchObject({ epochs: 1, batchSize: 16, learningRate: 2e-4 })
  })

  test('loraChatml is the same recipe without quantisation', () => {
    const q = qloraChatml({ model, data })
    const l = loraChatml({ model, data })
    expect(l.model.quantize).toBeUndefined()
    expect({ ...l, model: undefined }).toEqual({ ...q, model: undefined })
  })

  test('every mistake in the overrides is reported at once', () => {
    let caught: unknown
    try {
      qloraChatml({ model, data, args: { learningRate: -1 }, lora: { modulesToSave: ['wte' as 'lm_head'] } })
    } catch (e) {
      caught = e
    }
    expect(isTunekitError(caught)).toBe(true)
    expect((caught as { issues: { code: string; path: string }[] }).issues.map((i) => `${i.code} ${i.path}`).sort()).toEqual([
      'TK103 args.learningRate',
      'TK201 lora.modulesToSave[0]',
      'TK203 lora.modulesToSave',
    ])
  })
})

describe('the opposites conversation set', () => {
  test('is the same for the same seed and differs for another', () => {
    expect(oppositesDataset({ seed: 3 })).toEqual(oppositesDataset({ seed: 3 }))
    expect(oppositesDataset({ seed: 3 }).heldOut).not.toEqual(oppositesDataset({ seed: 4 }).heldOut)
  })

  test('rows are ChatML text as in oasst_top1, one user and one assistant turn', () => {
    const { train } = oppositesDataset()
    expect(train[0]!.text).toMatch(/^<\|im_start\|>user\n[^<]+<\|im_end\|>\n<\|im_start\|>assistant\n[a-z]+<\|im_end\|>\n$/)
    expect(chatmlText([{ role: 'user', content: 'Opposite of up?' }, { role: 'assistant', content: 'down' }])).toMatchInlineSnapshot(`
      "<|im_start|>user
      Opposite of up?<|im_end|>
      <|im_start|>assistant
      down<|im_end|>
      "
    `)
  })

  test('held-out questions are never trained on, yet their words and phrasings are', () => {
    const { train, heldOut } = oppositesDataset({ seed: 0, heldOut: 0.15 })
    const all = allOppositeQuestions()
    expect(all).toHaveLength(oppositePairs.length * 2 * oppositePhrasings.length)
    expect(heldOut.length).toBe(Math.round(all.length * 0.15))
    expect(train.length + heldOut.length).toBe(all.length)
    const trained = new Set(train.map((r) => r.text))
    for (const q of heldOut) {
      expect(trained.has(chatmlText([{ role: 'user', content: q.prompt }, { role: 'assistant', content: q.answer }]))).toBe(false)
      const phrasing = oppositePhrasings.find((p) => p.replace('{word}', q.prompt.slice(p.indexOf('{word}'), q.prompt.length - (p.length - p.indexOf('{word}') - 6))) === q.prompt)!
      expect([...trained].some((t) => oppositePairs.flat().some((w) => t.includes(`user\n${phrasing.replace('{word}', w)}<|im_end|>`)))).toBe(true)
      expect([...trained].some((t) => t.endsWith(`assistant\n${q.answer}<|im_end|>\n`))).toBe(true)
    }
  })

  test('rows feed an inline source as they are', () => {
    const r = loraChatml({ model, data: { source: inline(oppositesDataset().train.slice(0, 4)) } })
    expect(r.data.source).toMatchObject({ kind: 'inline' })
  })
})

describe('the opposites preference pairs', () => {
  test('every question not excluded once, the right antonym chosen and a wrong word rejected, seeded', () => {
    const { heldOut } = oppositesDataset({ seed: 0, heldOut: 0.1 })
    const pairs = oppositePreferences({ seed: 0, exclude: heldOut })
    expect(pairs).toEqual(oppositePreferences({ seed: 0, exclude: heldOut }))
    expect(pairs).not.toEqual(oppositePreferences({ seed: 1, exclude: heldOut }))
    const answer = new Map(allOppositeQuestions().map((q) => [q.prompt, q.answer]))
    expect(pairs.length).toBe(answer.size - heldOut.length)
    expect(pairs.some((p) => heldOut.some((q) => q.prompt === p.prompt))).toBe(false)
    const words = new Set(oppositePairs.flat())
    for (const p of pairs) {
      expect(p.chosen).toBe(answer.get(p.prompt))
      expect(p.rejected).not.toBe(p.chosen)
      expect(words.has(p.rejected)).toBe(true)
    }
    // about half reject the word asked about ("opposite of hot?" → "hot")
    const asked = pairs.filter((p) => p.prompt.includes(` ${p.rejected}`)).length
    expect(asked / pairs.length).toBeGreaterThan(0.35)
    expect(asked / pairs.length).toBeLessThan(0.65)
  })
})
