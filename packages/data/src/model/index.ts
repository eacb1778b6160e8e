// @tunekit/data/model: model input/output shared by the backends, in plain TypeScript (typed
// arrays, no tensor library): safetensors, Hugging Face model folders, random-initialised models,
// initial adapters, the PEFT adapter layout, checkpoints and the `model` node executor.
export { createRng, restoreRng, hashString, fillNormal, fillUniform } from './prng.ts'
export type { Rng, RngState } from './prng.ts'
export { dtypeBytes, isDtype, bf16ToF32, f32ToBf16, f16ToF32, f32ToF16 } from './dtypes.ts'
export type { Dtype, FloatDtype, TensorData } from './dtypes.ts'
export { MAX_HEADER_BYTES, parseHeader, readHeader, openSafetensors, readSafetensors, writeSafetensors, storedBytes } from './safetensors.ts'
export type { Tensor, FloatTensor, TensorInfo, SafetensorsHeader, SafetensorsFile, TensorToWrite, LazyTensor, TensorSource, WriteOptions } from './safetensors.ts'
export { SINGLE_FILE, INDEX_FILE, parseSize, openModelWeights, writeModelWeights } from './sharded.ts'
export type { ModelWeights } from './sharded.ts'
export { familyOf, configFromJson, readModelConfig, modelWeightSpecs, moduleWeightName, writeModelFolder } from './hf-folder.ts'
export type { ModelFolderConfig, WeightSpec, ModelFolderContents } from './hf-folder.ts'
export { createRandomModel, randomWeights, mistralTokenizerPath, mistralTokenizerConfig, tokenizerFilesFrom } from './random-model.ts'
export type { RandomModelOptions } from './random-model.ts'
export { writeFileAtomic, writeJsonAtomic } from './atomic.ts'
