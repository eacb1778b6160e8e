import { knownCheckpoints } from '@tunekit/core'
import { createRandomModel, createRng, restoreRng } from '@tunekit/hf'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

describe('seeded PRNG', () => {
  it('gives the same numbers on every machine (pinned values)', () => {
    const rng = createRng(42, 'stream')
    expect([rng.nextU32(), rng.nextU32(), rng.nextU32()]).toMatchInlineSnapshot(`
      [
        2858233427,
        4221073382,
        1260162024,
      ]
    `)
    expect(rng.uniform()).toMatchInlineSnapshot(`0.34999024868011475`)
    expect(Math.fround(rng.normal())).toMatchInlineSnapshot(`-0.9264054894447327`)
    expect(createRng(42, 'other').nextU32()).not.toBe(createRng(42, 'stream').nextU32())
  })

  it('restores a saved state and continues the same sequence', () => {
    const rng = createRng(7)
    rng.normal() // leaves a spare Box-Muller value in the state
    const saved = JSON.parse(JSON.stringify(rng.state()))
    const expected = [rng.normal(), rng.normal(), rng.uniform()]
    const again = restoreRng(saved)
    expect([again.normal(), again.normal(), again.uniform()]).toEqual(expected)
  })

  it('fills arrays with exactly the values of single draws (odd lengths keep the spare)', () => {
    const bulk = createRng(9)
    const one = createRng(9)
    const a = bulk.fillNormal(new Float32Array(5), 0.5, 2)
    const b = bulk.fillNormal(new Float32Array(4), 0, 1)
    const c = bulk.fillUniform(new Float32Array(3), 0.25)
    expect(Array.from(a)).toEqual(Array.from({ length: 5 }, () => Math.fround(0.5 + 2 * one.normal())))
    expect(Array.from(b)).toEqual(Array.from({ length: 4 }, () => Math.fround(one.normal())))
    expect(Array.from(c)).toEqual(Array.from({ length: 3 }, () => Math.fround((2 * one.uniform() - 1) * 0.25)))
  })

  it('draws N(0, 1) and U[0, 1) with the right moments', () => {
    const rng = createRng(1)
    let s = 0, s2 = 0, u = 0
    const n = 20000
    for (let i = 0; i < n; i++) {
      const x = rng.normal()
      s += x
      s2 += x * x
      u += rng.uniform()
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03)
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.04)
    expect(Math.abs(u / n - 0.5)).toBeLessThan(0.01)
  })

  it('writes the same random-model bytes on every machine (pinned sha256)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tk-prng-'))
    const config = { ...knownCheckpoints['tunekit/tiny-mistral']!.config, vocabSize: 64, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1, headDim: 4 }
    await createRandomModel(dir, { family: 'mistral', config, seed: 0, tokenizer: 'mistral' })
    expect(createHash('sha256').update(await readFile(join(dir, 'model.safetensors'))).digest('hex')).toMatchInlineSnapshot(`"de92a01112d9db0327a0c89c325fd380beaa72f84ab63d1a0c5ffd23ce7508b1"`)
  })
})
