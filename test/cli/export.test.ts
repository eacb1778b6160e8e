// `tunekit export`: GGUF from a merged model folder directly, or from a recipe by running its graph
// up to the export node (cached steps reused), through the real CLI on tiny models.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from '@tunekit/cli'
import { exportGguf } from '@tunekit/hf'
import { tinyQwen2Model, tmp } from '../model/gguf-fixture.ts'

async function cli(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(args, { cwd, out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

/** The GGUF header: magic and version. */
const header = (file: string): { magic: string; version: number } => {
  const bytes = readFileSync(file)
  return { magic: bytes.subarray(0, 4).toString('latin1'), version: bytes.readUInt32LE(4) }
}

/** A tiny LoRA recipe (random 2-layer Mistral, ChatML, 2 steps) as a JSON file in `dir`. */
function writeRecipe(dir: string, file: string, output: Record<string, unknown>): string {
  const records = Array.from({ length: 6 }, (_, i) => ({ prompt: `What is ${i} plus one?`, response: `${i + 1}` }))
  const recipe = {
    name: 'tiny-export',
    model: { id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32', random: { seed: 0, tokenizer: 'mistral', config: { hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1 } } },
    tokens: { chatml: true },
    lora: { rank: 4, alpha: 8, trainableTokens: true },
    data: { source: { kind: 'inline', records }, format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 32, split: { eval: 0 } },
    args: { batchSize: 2, maxSteps: 2, logEvery: 1 },
    backend: 'tfjs',
    output,
  }
  writeFileSync(join(dir, file), JSON.stringify(recipe))
  return file
}

type Event = { type: string; node?: string }
const events = (out: string): Event[] => out.trim().split('\n').map((l) => JSON.parse(l) as Event)
const nodesWith = (list: Event[], type: string): string[] => list.filter((e) => e.type === type).map((e) => e.node!)

describe('tunekit export <merged-folder>', () => {
  it('writes <run>-<type>.gguf and a Modelfile beside the folder, or the file --out names', async () => {
    const { dir } = await tinyQwen2Model('What is the opposite of hot? cold')
    const run = await tmp()
    const merged = join(run, 'tiny-run', 'merged')
    mkdirSync(join(run, 'tiny-run'))
    renameSync(dir, merged)
    const beside = await cli(run, 'export', merged, '--type', 'Q8_0')
    expect(beside.err).toBe('')
    expect(beside.code).toBe(0)
    expect(beside.out.replace(/\d+\.\d MB/, 'N MB')).toMatchInlineSnapshot(`
      "wrote tiny-run/tiny-run-q8_0.gguf (q8_0, N MB, qwen2) and tiny-run/Modelfile
      chat with it: npx tunekit chat --gguf tiny-run/tiny-run-q8_0.gguf
      in Ollama: ollama create tiny-run -f tiny-run/Modelfile
      "
    `)
    expect(header(join(run, 'tiny-run', 'tiny-run-q8_0.gguf'))).toEqual({ magic: 'GGUF', version: 3 })
    expect(readFileSync(join(run, 'tiny-run', 'Modelfile'), 'utf8')).toMatch(/^FROM \.\/tiny-run-q8_0\.gguf\n/)

    const out = await cli(run, 'export', 'tiny-run/merged', '--out', 'elsewhere/model.gguf')
    expect(out.code).toBe(0)
    expect(out.out).toContain('wrote elsewhere/model.gguf (f16, ') // f16 unless --type says otherwise
    expect(header(join(run, 'elsewhere', 'model.gguf'))).toEqual({ magic: 'GGUF', version: 3 })
  })

  it('a type, a path or a folder it cannot export is a catalog error naming it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tunekit-export-'))
    mkdirSync(join(cwd, 'empty'))
    mkdirSync(join(cwd, 'gpt2'))
    writeFileSync(join(cwd, 'gpt2', 'config.json'), '{"model_type": "gpt2", "vocab_size": 10}')
    const results = [
      await cli(cwd, 'export', 'empty', '--type', 'q5_k'),
      await cli(cwd, 'export', 'nowhere'),
      await cli(cwd, 'export', 'empty'),
      await cli(cwd, 'export', 'gpt2'),
    ]
    expect(results.map((r) => r.code)).toEqual([1, 1, 1, 1])
    expect(results.map((r) => r.err).join('').replaceAll(cwd, '$CWD')).toMatchInlineSnapshot(`
      "Unknown GGUF tensor type
      ✖ TK621 "q5_k" is not a GGUF export type; allowed: "f32", "f16", "q8_0", "q4_0" → at --type
        value: "q5_k"
        fix: Use 'F16' (half the size of F32, no loss that greedy decoding notices), 'Q8_0' (about a quarter) or 'Q4_0' (about an eighth, with some loss).
      Nothing to export there
      ✖ TK641 "$CWD/nowhere" does not exist
        value: "$CWD/nowhere"
        fix: Pass a recipe file (tunekit export recipe.ts --type q8_0) or a merged model folder (tunekit export runs/<name>/merged --type q8_0).
      The folder is not a Hugging Face model
      ✖ TK642 "$CWD/empty" has no config.json, so it is not a Hugging Face model folder
        value: "$CWD/empty"
        fix: Pass the merged model of a run (runs/<name>/merged, written when output.merge is on), or a recipe file to run up to its export.
      Model architecture not supported
      ✖ TK344 $CWD/gpt2/config.json: model_type "gpt2" is not an architecture tunekit can load; known: llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, mixtral, yi, bert, llava, qwen2_vl → at $CWD/gpt2/config.json: model_type
        value: "gpt2"
        fix: Use a checkpoint of a known family (config.json "model_type"), or train it as it is with model.family: 'auto' and backend: 'torch' (any decoder transformers loads without remote code), or restore its config.json if it was edited.
      "
    `)
  })
})

describe('tunekit export <recipe>', () => {
  it('runs the graph up to the export node, then finds it cached; --out copies the file, another --type exports only', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tunekit-export-'))
    const recipe = writeRecipe(cwd, 'recipe.json', { gguf: ['q8_0'] })
    const first = events((await cli(cwd, 'export', recipe, '--json')).out)
    expect(nodesWith(first, 'node-end')).toEqual(['model', 'source', 'format', 'tokenize', 'split', 'collate', 'train', 'merge', 'export'])
    const linked = join(cwd, 'runs', 'tiny-export', 'gguf', 'model-q8_0.gguf')
    expect(header(linked)).toEqual({ magic: 'GGUF', version: 3 })
    // the node's file is exportGguf's on the merged folder, byte for byte, named after the recipe
    const direct = join(await tmp(), 'direct.gguf')
    await exportGguf(join(cwd, 'runs', 'tiny-export', 'merged'), direct, { type: 'Q8_0', name: 'tiny-export', modelfile: false })
    expect(readFileSync(linked).equals(readFileSync(direct))).toBe(true)

    const again = await cli(cwd, 'export', recipe, '--type', 'q8_0', '--out', 'tiny.gguf', '--json')
    expect(again.code).toBe(0)
    const cached = events(again.out)
    expect(nodesWith(cached, 'node-start')).toEqual([])
    expect(nodesWith(cached, 'node-cached')).toContain('export')
    expect(readFileSync(join(cwd, 'tiny.gguf')).equals(readFileSync(linked))).toBe(true)
    expect(readFileSync(join(cwd, 'Modelfile'), 'utf8')).toMatch(/^FROM \.\/tiny\.gguf\n/)

    const f16 = await cli(cwd, 'export', recipe, '--type', 'f16')
    expect(f16.code).toBe(0)
    expect(f16.out).toContain('▶ export')
    expect(f16.out).not.toContain('▶ train')
    expect(f16.out).toMatch(/^runs\/tiny-export\/gguf\/model-f16\.gguf \(f16, [\d.]+ MB, llama\)$/m)
    expect(existsSync(join(cwd, 'runs', 'tiny-export', 'gguf', 'model-f16.gguf'))).toBe(true)
  }, 120_000)

  it('output.gguf without output.merge, and --out for several types, are catalog errors with the fix', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tunekit-export-'))
    const unmerged = await cli(cwd, 'export', writeRecipe(cwd, 'unmerged.json', { merge: false, gguf: ['q8_0'] }))
    const several = await cli(cwd, 'export', writeRecipe(cwd, 'several.json', { gguf: ['q4_0', 'f16'] }), '--out', 'one.gguf')
    expect([unmerged.code, several.code]).toEqual([1, 1])
    expect(unmerged.err + several.err).toMatchInlineSnapshot(`
      "Recipe has 1 problem
      ✖ TK640 output.gguf asks for "q8_0": GGUF files are written from the merged model, but output.merge is false → at output.gguf
        value: ["q8_0"]
        fix: Set output.merge: true (the default) so the adapter is folded into the weights first, or remove output.gguf.
      --out names one file, the recipe exports several
      ✖ TK643 --out is one file, but the recipe's output.gguf lists "q4_0", "f16" → at --out
        value: "one.gguf"
        fix: Add --type to pick the one --out gets (e.g. --type q8_0), or leave --out off: every file is linked into the run folder (runs/<name>/gguf/).
      "
    `)
  })
})
