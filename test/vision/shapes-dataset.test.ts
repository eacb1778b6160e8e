// The seeded shapes generator (@tunekit/recipes datasets/shapes.ts): the same seed gives the same
// PNG bytes and records; each image holds its shape's colour at its centre and the background at
// a corner; questions and answers follow the drawn shape.
import { readImage } from '@tunekit/data'
import { shapeColours, writeShapesDataset } from '@tunekit/recipes'
import { mkdtemp, readFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

describe('the shapes dataset', () => {
  it('is seeded, draws what its records say, and holds images out whole', async () => {
    const [a, b] = [await mkdtemp(join(tmpdir(), 'shapes-')), await mkdtemp(join(tmpdir(), 'shapes-'))]
    const one = await writeShapesDataset(a, { seed: 3, count: 20, colours: 4, heldOut: 0.2 })
    await writeShapesDataset(b, { seed: 3, count: 20, colours: 4, heldOut: 0.2 })
    for (const f of await readdir(join(a, 'images'))) expect((await readFile(join(a, 'images', f))).equals(await readFile(join(b, 'images', f)))).toBe(true)
    expect(await readFile(one.trainFile, 'utf8')).toBe(await readFile(join(b, 'shapes.json'), 'utf8'))
    expect([one.train.length, one.heldOut.length]).toEqual([32, 8])
    expect(one.train[0]!.messages[0]!.content).toMatch(/^<image>What (colour is the (square|circle|triangle)|shape is (red|green|blue|yellow))\?$/)
    const heldImages = new Set(one.heldOut.map((q) => q.image))
    expect(one.train.some((r) => heldImages.has(join(a, r.images[0]!)))).toBe(false)
    for (const q of one.heldOut.filter((h) => h.question.startsWith('What colour'))) {
      const image = await readImage(q.image)
      expect([image.width, image.height]).toEqual([28, 28])
      // the background at a corner; the colour somewhere (a shape covers at least a tenth of the image)
      expect([...image.data.subarray(0, 3)]).toEqual([235, 235, 235])
      const rgb = shapeColours[q.answer as keyof typeof shapeColours]
      let hits = 0
      for (let i = 0; i < image.data.length; i += 3) if (image.data[i] === rgb[0] && image.data[i + 1] === rgb[1] && image.data[i + 2] === rgb[2]) hits++
      expect(hits).toBeGreaterThan(28 * 28 * 0.1)
    }
  })
})
