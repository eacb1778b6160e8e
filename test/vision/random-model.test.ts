// The random vision-language models written in TypeScript (@tunekit/hf's vision-weights.ts) load in
// transformers 5.23 as LlavaForConditionalGeneration / Qwen2VLForConditionalGeneration with no
// missing or unexpected key, their tokenizers give the image tokens config.json names, and their
// preprocessor_config.json is transformers' image processor and @tunekit/data's.
import { execFileSync } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPreprocessorConfig } from '@tunekit/data'
import { describe, expect, it } from 'vitest'
import { workerPython } from '../python.ts'
import { tinyVisionModel } from './tiny-vision.ts'

const LOAD = String.raw`
import json, sys, torch
from transformers import AutoConfig, AutoImageProcessor, AutoModelForImageTextToText, AutoTokenizer
out = {}
for name, folder in json.loads(sys.argv[1]).items():
    model, info = AutoModelForImageTextToText.from_pretrained(folder, output_loading_info=True)
    cfg = AutoConfig.from_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)
    token = "<image>" if cfg.model_type == "llava" else "<|image_pad|>"
    out[name] = {
        "class": type(model).__name__,
        "missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"]), "mismatched": [str(m) for m in info["mismatched_keys"]],
        "params": sum(p.numel() for p in model.parameters()),
        "image_token": [getattr(cfg, "image_token_index", None) or cfg.image_token_id, tok.convert_tokens_to_ids(token)],
        "vocab": [model.get_input_embeddings().weight.shape[0], len(tok)],
        "processor": type(AutoImageProcessor.from_pretrained(folder)).__name__,
    }
print(json.dumps(out))
`

describe('random vision-language models', () => {
  it('load in transformers with every weight in place and their image tokens in the tokenizer', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tunekit-vision-'))
    const folders = { llava: await tinyVisionModel(join(root, 'llava'), 'llava'), qwen2_vl: await tinyVisionModel(join(root, 'qwen'), 'qwen2_vl') }
    const out = JSON.parse(execFileSync(workerPython(), ['-c', LOAD, JSON.stringify(folders)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Record<string, unknown>
    expect(out).toEqual({
      // the test tokenizer's 320 ids plus <image> at 320 (vocab_size 322 as set) or Qwen2-VL's four vision
      // tokens at 320–323 (image_pad 322; vocab_size grown to 324, embeddings tied as in Qwen2-VL-2B);
      // counts: the families' (test/core/vision-families.test.ts) with these vocabularies
      llava: { class: 'LlavaForConditionalGeneration', missing: [], unexpected: [], mismatched: [], params: 70_848 - 2 * 400 * 32 + 2 * 322 * 32, image_token: [320, 320], vocab: [322, 321], processor: 'CLIPImageProcessorPil' },
      qwen2_vl: { class: 'Qwen2VLForConditionalGeneration', missing: [], unexpected: [], mismatched: [], params: 91_520 - 2 * 400 * 32 + 324 * 32, image_token: [322, 322], vocab: [324, 324], processor: 'Qwen2VLImageProcessorPil' },
    })
    // and @tunekit/data reads the same processors (what tokenize and chat --image preprocess with)
    expect((await loadPreprocessorConfig(folders.llava)).kind).toBe('clip')
    expect(await loadPreprocessorConfig(folders.qwen2_vl)).toMatchObject({ kind: 'qwen2_vl', patchSize: 7, mergeSize: 2, minPixels: 4 * 14 * 14, maxPixels: 16 * 14 * 14 })
  }, 60_000)
})
