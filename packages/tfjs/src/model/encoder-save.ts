// Writes a BERT QA model held on the engine as a Hugging Face folder in transformers' layout
// (BertForQuestionAnswering: config.json, model.safetensors, the tokenizer files), which
// `pipeline('question-answering', model=folder)` loads. Each file is written atomically; the
// folder as a whole is the caller's temp folder (a node's outDir) until it is renamed.
import { modelWeightSpecs, tokenizerFilesFrom, writeModelFolder, type LazyTensor } from '@tunekit/hf'
import type { EncoderModel } from './encoder.ts'

export async function saveEncoder(dir: string, model: EncoderModel, tokenizerDir: string): Promise<void> {
  const tensors = modelWeightSpecs(model.family, model.config).map((spec): [string, LazyTensor] => {
    const w = model.weights.get(spec.name)
    if (!w) throw new Error(`the bert model holds no weight ${JSON.stringify(spec.name)}`)
    return [spec.name, { shape: spec.shape, dtype: 'F32', make: () => w.dataSync() as Float32Array }]
  })
  await writeModelFolder(dir, {
    family: model.family,
    config: model.config,
    tensors,
    tokenizerFiles: await tokenizerFilesFrom(tokenizerDir, model.config.maxPositionEmbeddings),
  })
}
