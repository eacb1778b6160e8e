// Multimodal records through the data nodes (source → format → tokenize → split → collate) on tiny
// LLaVA- and Qwen2-VL-shaped model folders (config.json, preprocessor_config.json, the test
// tokenizer plus the image tokens) and a few 20–40 px PNGs written here.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { compile, defineRecipe, file as fileSource, mulberry32, type Json } from '@tunekit/core'
import { loadTokenizer, preprocessImage, preprocessorConfigOf, readImage, readShards, sampleOf, writePng, type BatchPlan, type Shards, type TokenizeReport } from '@tunekit/data'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readJson, runDataNodes, tempDir, tinyTokenizer } from '../helpers.ts'

let dir: string
let done: () => Promise<void>

const clipConfig = { image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: 28 }, crop_size: { height: 28, width: 28 } }
const qwenConfig = { image_processor_type: 'Qwen2VLImageProcessor', patch_size: 4, merge_size: 2, temporal_patch_size: 2, min_pixels: 256, max_pixels: 1024 }

/** A model folder: the tiny tokenizer with `extra` added tokens (ids 322…), config.json and preprocessor_config.json. */
async function modelFolder(name: string, extra: string[], config: Json, processor: Json | undefined): Promise<string> {
  const folder = join(dir, name)
  await mkdir(folder, { recursive: true })
  const tokenizer = JSON.parse(await readFile(join(tinyTokenizer, 'tokenizer.json'), 'utf8')) as { added_tokens: Json[] }
  extra.forEach((content, i) => tokenizer.added_tokens.push({ id: 322 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
  await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(tokenizer))
  await writeFile(join(folder, 'tokenizer_config.json'), await readFile(join(tinyTokenizer, 'tokenizer_config.json')))
  await writeFile(join(folder, 'config.json'), JSON.stringify(config))
  if (processor) await writeFile(join(folder, 'preprocessor_config.json'), JSON.stringify(processor))
  return folder
}

const image = async (file: string, width: number, height: number, seed: number): Promise<void> => {
  const next = mulberry32(seed)
  await writePng(join(dir, file), { width, height, channels: 3, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(next() * 256)) })
}

let llava: string
let qwen: string
let text: string
beforeAll(async () => {
  ;({ dir, done } = await tempDir())
  llava = await modelFolder('llava', ['<image>'], { model_type: 'llava', image_token_index: 322, vision_config: { patch_size: 14, image_size: 28 } }, clipConfig)
  qwen = await modelFolder('qwen', ['<|vision_start|>', '<|vision_end|>', '<|image_pad|>'], { model_type: 'qwen2_vl', vision_start_token_id: 322, vision_end_token_id: 323, image_token_id: 324, vision_config: { patch_size: 4, spatial_merge_size: 2 } }, qwenConfig)
  text = await modelFolder('text', [], { model_type: 'llama' }, undefined)
  await mkdir(join(dir, 'pics'), { recursive: true })
  await image('pics/a.png', 37, 23, 1)
  await image('pics/b.png', 20, 40, 2)
  await image('pics/c.png', 31, 31, 3)
}, 60_000)
afterAll(() => done?.())

let runs = 0
async function pipeline(records: Json[], format: Json, modelDir: string, more: { eval?: number; maxLength?: number; truncation?: string } = {}) {
  const root = join(dir, `run-${runs++}`)
  await mkdir(root, { recursive: true })
  // the data file sits beside pics/: its image paths are relative to its folder
  await writeFile(join(dir, `data-${runs}.jsonl`), records.map((r) => JSON.stringify(r)).join('\n'))
  const { dirs } = await runDataNodes(root, {
    source: { source: { kind: 'file', path: join(dir, `data-${runs}.jsonl`) } },
    format: { format, onError: 'fail' },
    tokenize: {
      render: { kind: 'chat', template: 'chatml', mask: 'assistant' }, maxLength: more.maxLength ?? 128, truncation: more.truncation ?? 'truncate',
      onError: 'fail', tokens: { chatml: true, add: [], addBos: true }, family: 'llama', trainableTokens: false,
    },
    split: { split: { eval: more.eval ?? 0, seed: 42 } },
    collate: { batchSize: 2, gradientAccumulationSteps: 1, epochs: 1, groupByLength: true, seed: 42, shuffle: true, packing: false, maxLength: more.maxLength ?? 128 },
  }, { modelDir, baseDir: dir })
  return {
    dirs,
    shards: await readShards(dirs.tokenize!),
    report: await readJson<TokenizeReport>(join(dirs.tokenize!, 'report.json')),
  }
}

const alpaca: Json[] = [
  { instruction: '<image>What colour?', output: 'red', images: ['pics/a.png'] },
  { instruction: 'Compare <image> and <image>.', output: 'the same', images: ['pics/b.png', 'pics/c.png'] },
  { instruction: 'No picture here.', output: 'fine' },
  { instruction: 'And this <image>?', output: 'blue', images: 'pics/c.png' },
]

/** The pixels tunekit's processor gives for a file (the parity test checks those against transformers'). */
const expectedPixels = async (file: string, processor: Json) => preprocessImage(await readImage(join(dir, file)), preprocessorConfigOf(processor, { vision_config: { patch_size: 14 } }, 'm'))

const imageTokenRuns = (ids: Int32Array, id: number): number[] => {
  const out: number[] = []
  let n = 0
  for (const t of [...ids, -1]) {
    if (t === id) n++
    else if (n > 0) [out[out.length], n] = [n, 0]
  }
  return out
}

describe('LLaVA: alpaca records with an images column', () => {
  let run: Awaited<ReturnType<typeof pipeline>>
  beforeAll(async () => {
    run = await pipeline(alpaca, 'alpaca', llava, { eval: 1 })
  }, 60_000)

  it('expands each <image> to (28/14)² = 4 <image> tokens, never labels, with the pixels of its image in order', async () => {
    const { shards } = run
    expect(shards.index.images!.counts).toEqual([1, 2, 0, 1])
    expect(shards.index.images!.first).toEqual([0, 1, 3, 3])
    expect(shards.index.images!.shapes).toEqual([[3, 28, 28], [3, 28, 28], [3, 28, 28], [3, 28, 28]])
    expect(shards.index.images!.gridThw).toBeNull()
    const files = [['pics/a.png'], ['pics/b.png', 'pics/c.png'], [], ['pics/c.png']]
    for (let i = 0; i < 4; i++) {
      const s = sampleOf(shards, i)
      expect(imageTokenRuns(s.ids, 322)).toEqual(files[i]!.map(() => 4))
      s.ids.forEach((id, t) => id === 322 && expect(s.mask[t]).toBe(0))
      for (const [k, file] of files[i]!.entries()) expect(s.images![k]!.pixels).toEqual((await expectedPixels(file, clipConfig)).pixels)
    }
    const tok = await loadTokenizer(join(run.dirs.tokenize!, 'tokenizer'))
    expect(tok.decode([...sampleOf(shards, 0).ids])).toMatchInlineSnapshot(`
      "<s><|im_start|>user
      <image><image><image><image>What colour?<|im_end|>
      <|im_start|>assistant
      red<|im_end|>
      "
    `)
  })

  it('split keeps every sample with its images (train/ and eval/), and the batch plan names samples of train/', async () => {
    const train = await readShards(join(run.dirs.split!, 'train'))
    const evalSet = await readShards(join(run.dirs.split!, 'eval'))
    const check = (set: Shards): void => {
      const from = set.index.stats.sourceIndices as number[]
      for (let i = 0; i < set.index.count; i++) {
        const s = sampleOf(set, i)
        const source = sampleOf(run.shards, from[i]!)
        expect([...s.ids]).toEqual([...source.ids])
        expect(s.images?.map((im) => [...im.pixels]) ?? []).toEqual(source.images?.map((im) => [...im.pixels]) ?? [])
      }
    }
    check(train)
    check(evalSet)
    expect(train.index.count + evalSet.index.count).toBe(4)
    const plan = await readJson<BatchPlan>(join(run.dirs.collate!, 'plan.json'))
    const planned = plan.epochsPlan.flatMap((e) => e.microBatches.flatMap((b) => b.rows.flat().map((seg) => seg.sample)))
    expect([...planned].sort()).toEqual(Array.from({ length: train.index.count }, (_, i) => i))
  })

  it('counts the images in the report and the checks table', () => {
    expect(run.report.images).toEqual({ conversations: 3, images: 4, tokens: 16, cut: 0 })
  })
})

describe('Qwen2-VL: sharegpt and openai records', () => {
  it('expands <image> to <|vision_start|> <|image_pad|> × t·h·w/4 <|vision_end|>, patch rows and image_grid_thw per image', async () => {
    const records: Json[] = [
      { conversations: [{ from: 'human', value: '<image>Name it.' }, { from: 'gpt', value: 'a square' }], images: ['pics/a.png'] },
      { conversations: [{ from: 'human', value: 'Two: <image><image>' }, { from: 'gpt', value: 'both' }], images: ['pics/b.png', 'pics/c.png'] },
    ]
    const { shards, report } = await pipeline(records, 'sharegpt', qwen)
    const want = await Promise.all(['pics/a.png', 'pics/b.png', 'pics/c.png'].map((f) => expectedPixels(f, qwenConfig)))
    expect(shards.index.images!.gridThw).toEqual(want.map((w) => w.gridThw))
    expect(shards.index.images!.shapes).toEqual(want.map((w) => w.shape))
    const s = sampleOf(shards, 1)
    expect(imageTokenRuns(s.ids, 324)).toEqual([want[1]!.imageTokens, want[2]!.imageTokens])
    expect(s.images![1]!.pixels).toEqual(want[2]!.pixels)
    const at = s.ids.indexOf(322)
    expect([s.ids[at - 1], s.ids[at], s.ids[at + 1 + want[1]!.imageTokens]]).not.toContain(undefined)
    expect(s.ids[at + 1 + want[1]!.imageTokens]).toBe(323)
    s.ids.forEach((id, t) => id >= 322 && id <= 324 && expect(s.mask[t]).toBe(0))
    expect(report.images).toEqual({ conversations: 2, images: 3, tokens: want.reduce((n, w) => n + w.imageTokens + 2, 0), cut: 0 })
  })

  it('reads openai image_url parts (a relative path and a file:// URL) and the images column, in that order', async () => {
    const records: Json[] = [{
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'pics/a.png' } }, { type: 'text', text: 'and' }, { type: 'image_url', image_url: { url: pathToFileURL(join(dir, 'pics/b.png')).href } }, { type: 'text', text: ' then <image>' }] },
        { role: 'assistant', content: 'three' },
      ],
      images: ['pics/c.png'],
    }]
    const { shards } = await pipeline(records, 'openai', qwen)
    const want = await Promise.all(['pics/a.png', 'pics/b.png', 'pics/c.png'].map((f) => expectedPixels(f, qwenConfig)))
    expect(sampleOf(shards, 0).images!.map((im) => im.gridThw)).toEqual(want.map((w) => w.gridThw))
    expect(sampleOf(shards, 0).images![2]!.pixels).toEqual(want[2]!.pixels)
  })

  it('leaves out a sample whose image tokens maxLength would cut, and counts it', async () => {
    const records: Json[] = [
      { conversations: [{ from: 'human', value: 'short' }, { from: 'gpt', value: 'ok' }] },
      { conversations: [{ from: 'human', value: '<image>' }, { from: 'gpt', value: 'ok' }], images: ['pics/c.png'] },
    ]
    const { shards, report } = await pipeline(records, 'sharegpt', qwen, { maxLength: 20 })
    expect(shards.index.count).toBe(1)
    expect(report.images!.cut).toBe(1)
    expect(shards.index.images).toBeUndefined()
  })
})

describe('errors before compute', () => {
  const fails = (records: Json[], format: Json = 'alpaca', model = llava) => pipeline(records, format, model).then(() => 'no error', (e: Error) => e.message.replaceAll(dir, '<dir>'))

  it('placeholders ≠ images (TK506), a missing file (TK507), a URL (TK508), a text model (TK509)', async () => {
    expect(await fails([{ instruction: '<image><image> two?', output: 'x', images: ['pics/a.png'] }])).toMatchInlineSnapshot(`
      "The <image> placeholders and the images differ in number
      ✖ TK506 data-5.jsonl line 1 has 2 <image> placeholder(s) in its messages and 1 image(s): each image takes the place of one <image> in the text, in order, as LLaMA-Factory's mm_plugin requires → at data.format
        value: "data-5.jsonl line 1"
        fix: Put one <image> in the user message for each path in the record's "images" list (or one image_url part for each image), or remove the extra ones."
    `)
    expect(await fails([{ instruction: '<image>', output: 'x', images: ['pics/nope.png'] }])).toMatchInlineSnapshot(`
      "An image the data names does not exist
      ✖ TK507 data-6.jsonl line 1 names the image "pics/nope.png", resolved to "pics/nope.png", which is not a file → at data.format
        value: "data-6.jsonl line 1"
        fix: Image paths are relative to the data file's folder (LLaMA-Factory's dataset_dir / media_dir) or absolute; fix the path or add the file."
    `)
    expect(await fails([{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }, { role: 'assistant', content: 'a cat' }] }], 'openai')).toMatchInlineSnapshot(`
      "An image_url is not a local file
      ✖ TK508 data-7.jsonl line 1 message 1 part 1 has the image_url "https://example.com/cat.png": tunekit reads images from local files only, never from the network while it prepares data → at data.format
        value: "data-7.jsonl line 1"
        fix: Download the image next to the data file and give its path ("image.png" or "file:///abs/image.png") as the url."
    `)
    expect(await fails([{ instruction: '<image>', output: 'x', images: ['pics/a.png'] }], 'alpaca', text)).toMatchInlineSnapshot(`
      "The model cannot take these images
      ✖ TK509 the model "<dir>/text" cannot take images: config.json's model_type is "llama", which has no image tokens (tunekit takes images for llava and qwen2_vl) → at <dir>/text/config.json
        value: "<dir>/text"
        fix: Train records with images on a vision-language model (family 'llava' or 'qwen2_vl') whose folder holds config.json and transformers' preprocessor_config.json (CLIPImageProcessor or Qwen2VLImageProcessor)."
    `)
    // the count is config.json's vision side (core's VisionConfig): a processor that crops to other sizes is refused
    const wide = await modelFolder('llava-56', ['<image>'], { model_type: 'llava', image_token_index: 322, vision_config: { patch_size: 14, image_size: 56 } }, clipConfig)
    expect(await fails([{ instruction: '<image>', output: 'x', images: ['pics/a.png'] }], 'alpaca', wide)).toMatch(/TK509 .*preprocessor_config.json makes <dir>\/pics\/a.png 4 image tokens and config.json's vision_config 16/)
  })
})

describe('the graph key', () => {
  it("covers the images' bytes: the format node reads every image the records name, so new pixels make new keys", async () => {
    await writeFile(join(dir, 'keyed.jsonl'), [JSON.stringify(alpaca[0]), JSON.stringify(alpaca[2])].join('\n'))
    const recipe = defineRecipe({
      name: 'keyed',
      model: { id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 1 } },
      data: { source: fileSource('keyed.jsonl'), format: 'alpaca', maxLength: 64 },
    })
    const formatNode = async () => (await compile(recipe, { baseDir: dir })).nodes.find((n) => n.id === 'format')!
    const before = await formatNode()
    expect(before.reads.map((r) => r.path)).toEqual([join(dir, 'pics/a.png')])
    await image('pics/a.png', 37, 23, 99)
    const after = await formatNode()
    expect(after.key).not.toBe(before.key)
    await image('pics/a.png', 37, 23, 1)
  })

  it("covers a CSV source's images column too (one path a cell, quoted fields parsed as the CSV source parses them)", async () => {
    await writeFile(join(dir, 'keyed.csv'), 'instruction,output,images\n"<image> which, colour?",red,pics/b.png\nno image,x,\n')
    const recipe = defineRecipe({
      name: 'keyed-csv',
      model: { id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 1 } },
      data: { source: fileSource('keyed.csv'), format: 'alpaca', maxLength: 64 },
    })
    const formatNode = async () => (await compile(recipe, { baseDir: dir })).nodes.find((n) => n.id === 'format')!
    const before = await formatNode()
    expect(before.reads.map((r) => r.path)).toEqual([join(dir, 'pics/b.png')])
    await image('pics/b.png', 20, 40, 99)
    expect((await formatNode()).key).not.toBe(before.key)
    await image('pics/b.png', 20, 40, 2)
  })
})

describe('processor settings', () => {
  it("vision_feature_select_strategy 'full' keeps the CLS feature: one image token more", async () => {
    const im = await readImage(join(dir, 'pics/a.png'))
    const of = (strategy: string) => preprocessImage(im, preprocessorConfigOf(clipConfig, { vision_config: { patch_size: 14 }, vision_feature_select_strategy: strategy }, 'm')).imageTokens
    expect([of('default'), of('full')]).toEqual([4, 5])
  })

  it('a processor tunekit does not port, or PIL NEAREST, is ImageModelUnsupported (TK509)', () => {
    expect(() => preprocessorConfigOf({ image_processor_type: 'SiglipImageProcessor' }, {}, 'm')).toThrow(/TK509 the model "m" cannot take images: preprocessor_config.json's image_processor_type is "SiglipImageProcessor"/)
    expect(() => preprocessorConfigOf({ ...clipConfig, resample: 0 }, {}, 'm')).toThrow(/TK509 .*resample is 0 \(PIL's NEAREST\)/)
  })
})
