// A seeded set of small images of one coloured shape each (square, circle, triangle; six colours;
// position and size jitter) with questions about them, for multimodal SFT on a tiny vision-language
// model (recipes/shapes-vision.ts): "What colour is the square?" → "red", "What shape is red?" →
// "square". Records are LLaMA-Factory's sharegpt with `images` (paths relative to the data file).
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '@tunekit/core'
import { rgbImage, writePng, type RgbImage } from '@tunekit/data'
import { seededRandom } from './opposites.ts'

export const shapeNames = ['square', 'circle', 'triangle'] as const
export type ShapeName = (typeof shapeNames)[number]

/** The colours, as RGB; far apart so a 28-pixel image tells them apart. */
export const shapeColours = { red: [220, 30, 30], green: [30, 170, 40], blue: [30, 60, 220], yellow: [235, 210, 20], purple: [140, 40, 170], orange: [245, 130, 20] } as const
export type ColourName = keyof typeof shapeColours

export interface ShapeImage {
  shape: ShapeName
  colour: ColourName
  /** Centre (pixels) and half size. */
  cx: number
  cy: number
  radius: number
}

/** One sharegpt record: a question about its image and the one-word answer. */
export interface ShapeRecord {
  messages: Array<{ role: 'user' | 'assistant'; content: string }>
  images: string[]
}

export interface ShapesOptions {
  seed: number
  /** Images to draw (two questions each). @defaultValue 240 */
  count?: number
  /** Width and height in pixels (the vision tower's image_size). @defaultValue 28 */
  size?: number
  /** Colours used, the first n of {@link shapeColours} (4–6). @defaultValue 6 */
  colours?: number
  /** Share of images held out (their questions never train). @defaultValue 0.15 */
  heldOut?: number
}

/** Whether pixel (x, y) is inside the shape (pixel centres at +0.5). */
function covers(s: ShapeImage, x: number, y: number): boolean {
  const dx = x + 0.5 - s.cx
  const dy = y + 0.5 - s.cy
  if (s.shape === 'square') return Math.abs(dx) <= s.radius && Math.abs(dy) <= s.radius
  if (s.shape === 'circle') return dx * dx + dy * dy <= s.radius * s.radius
  // an upright triangle: apex at the top, base at the bottom of the box
  const t = (dy + s.radius) / (2 * s.radius) // 0 at the apex, 1 at the base
  return t >= 0 && t <= 1 && Math.abs(dx) <= t * s.radius
}

/** The shape on a light grey background. */
export function drawShape(s: ShapeImage, size: number): RgbImage {
  const image = rgbImage(size, size)
  const [r, g, b] = shapeColours[s.colour]
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3
      const on = covers(s, x, y)
      image.data[i] = on ? r : 235
      image.data[i + 1] = on ? g : 235
      image.data[i + 2] = on ? b : 235
    }
  }
  return image
}

/** The two questions of an image, with their answers. */
export function shapeQuestions(s: ShapeImage): Array<{ question: string; answer: string }> {
  return [
    { question: `What colour is the ${s.shape}?`, answer: s.colour },
    { question: `What shape is ${s.colour}?`, answer: s.shape },
  ]
}

/** The images' descriptions, seeded: shape and colour at random, centre and size jittered. */
export function shapeImages(o: ShapesOptions): ShapeImage[] {
  const random = seededRandom(o.seed)
  const size = o.size ?? 28
  const colours = (Object.keys(shapeColours) as ColourName[]).slice(0, o.colours ?? 6)
  return Array.from({ length: o.count ?? 240 }, () => {
    const radius = size * (0.22 + 0.1 * random()) // a third to half the image wide
    const room = size / 2 - radius - 1
    return {
      shape: shapeNames[Math.floor(random() * shapeNames.length)]!,
      colour: colours[Math.floor(random() * colours.length)]!,
      cx: size / 2 + (2 * random() - 1) * room,
      cy: size / 2 + (2 * random() - 1) * room,
      radius,
    }
  })
}

export interface ShapesDataset {
  /** The data file (sharegpt JSON with `images`) of the training records. */
  trainFile: string
  train: ShapeRecord[]
  /** Held-out images' questions: the image file (absolute), the question and its answer. */
  heldOut: Array<{ image: string; question: string; answer: string }>
}

/**
 * Draws the images into `dir/images/` (PNG, @tunekit/data's writePng) and writes `dir/shapes.json`
 * (the training records, image paths relative to it). The same seed gives the same bytes.
 */
export async function writeShapesDataset(dir: string, o: ShapesOptions): Promise<ShapesDataset> {
  const size = o.size ?? 28
  const shapes = shapeImages(o)
  const held = Math.round(shapes.length * (o.heldOut ?? 0.15))
  await mkdir(join(dir, 'images'), { recursive: true })
  const train: ShapeRecord[] = []
  const heldOut: ShapesDataset['heldOut'] = []
  for (const [i, s] of shapes.entries()) {
    const name = `images/${String(i).padStart(4, '0')}.png`
    await writePng(join(dir, name), drawShape(s, size))
    for (const { question, answer } of shapeQuestions(s)) {
      if (i < held) heldOut.push({ image: join(dir, name), question, answer })
      else train.push({ messages: [{ role: 'user', content: `<image>${question}` }, { role: 'assistant', content: answer }], images: [name] })
    }
  }
  const trainFile = join(dir, 'shapes.json')
  await writeFileAtomic(trainFile, `${JSON.stringify(train, null, 1)}\n`)
  return { trainFile, train, heldOut }
}
