import { z } from 'zod'
import { argsSchema } from './args.ts'
import { dataSchema } from './data.ts'
import { distributedSchema } from './distributed.ts'
import { evalSchema } from './eval.ts'
import { loraSchema } from '../methods/lora.ts'
import { methodSchema } from '../methods/index.ts'
import { initSchema } from './init.ts'
import { modelSchema } from './model.ts'
import { stageSchema } from './stage.ts'
import { tokensSchema } from './tokens.ts'

/** Tensor types of a GGUF export: ggml's type names, in lower case as llama.cpp's file names write them. */
export const ggufTypeSchema = z.enum(['f32', 'f16', 'q8_0', 'q4_0'])
export type GgufType = z.output<typeof ggufTypeSchema>

export const outputSchema = z.strictObject({
  /**
   * Run folder: the resolved recipe, graph, events.jsonl, adapter, checkpoints and merged model.
   * Relative paths resolve from the current directory.
   * No memory or quality effect.
   * @defaultValue `runs/<recipe name>`
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.output_dir
   */
  dir: z.string().optional(),
  /**
   * Fold the adapter into the base weights after training and write a full model.
   * Needs disk for a full copy of the model in float32 (tfjs) or `model.dtype` (torch).
   * @defaultValue true
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraModel.merge_and_unload
   */
  merge: z.boolean().default(true),
  /**
   * Largest safetensors shard of the merged model, e.g. `'5GB'` or a byte count.
   * Smaller shards need less memory to load one at a time; no quality effect.
   * @defaultValue '5GB'
   * @see https://huggingface.co/docs/transformers/main_classes/model#transformers.PreTrainedModel.save_pretrained (max_shard_size)
   */
  maxShardSize: z.union([z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB)$/i, 'expected e.g. "5GB"'), z.number().int().positive()]).default('5GB'),
  /**
   * Prompts answered by the merged model at the end of the run (sample generations).
   * Costs generation time at the end of the run; no training memory.
   * @defaultValue []
   * @see https://huggingface.co/docs/transformers/main_classes/text_generation
   */
  samples: z.array(z.string()).default([]),
  /**
   * Most tokens each sample generation may add after its prompt (greedy decoding stops earlier at eos).
   * Costs generation time at the end of the run; no training memory or quality effect.
   * @defaultValue 128
   * @see https://huggingface.co/docs/transformers/main_classes/text_generation#transformers.GenerationConfig.max_new_tokens
   */
  maxNewTokens: z.number().int().positive().default(128),
  /**
   * GGUF files to export the merged model to, one per tensor type, for llama.cpp, Ollama and LM
   * Studio: `'f32'` (4 bytes a weight), `'f16'` (2), `'q8_0'` (34 bytes per 32 weights) or `'q4_0'`
   * (18 per 32, with some loss). Needs `output.merge`; costs disk for each file, no training memory.
   * @defaultValue []
   * @see https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
   */
  gguf: z.array(ggufTypeSchema).default([]),
  /**
   * Artifact cache shared by runs; every node's output is stored under its content key.
   * Costs disk, not memory; a cached node is never recomputed.
   * @defaultValue '.tunekit/cache'
   * @see https://docs.astro.build/en/reference/configuration-reference/#cachedir (the same idea)
   */
  cacheDir: z.string().default('.tunekit/cache'),
})

/** Compute backends a recipe can ask for (see the recipe's `backend` key). */
export const backendSchema = z.enum(['auto', 'tfjs', 'torch']).default('auto')

/** Devices a recipe can ask for (see the recipe's `device` key). */
export const deviceSchema = z.enum(['auto', 'cpu', 'cuda', 'wasm']).default('auto')

export const recipeSchema = z.strictObject({
  /**
   * Name of the recipe, used for the run folder and in reports.
   * No memory or quality effect.
   * @defaultValue 'recipe'
   * @see https://docs.axolotl.ai/docs/config-reference.html
   */
  name: z.string().regex(/^[\w.-]+$/, 'expected letters, digits, ".", "_" or "-"').default('recipe'),
  /**
   * The base model: id or path, family, dtype and quantisation.
   * Its size and quantisation set most of the memory a run needs.
   * @defaultValue (required)
   * @see https://huggingface.co/docs/transformers/main_classes/model
   */
  model: modelSchema,
  /**
   * Start from another recipe's result instead of the base model (`init: { recipe: sft }` for
   * sft → dpo): that recipe runs first (or comes from the cache) and its merged model is trained.
   * No memory effect beyond the merged model's.
   * @defaultValue undefined (the base model of `model`)
   * @see https://huggingface.co/docs/trl/dpo_trainer (DPO starts from the SFT model)
   */
  init: initSchema.optional(),
  /**
   * The training objective and the nodes it adds: `{ kind: 'sft' }` (supervised fine-tuning on
   * conversations) or `{ kind: 'pretrain' }` (continued pretraining on raw text, every token trained).
   * It decides which data formats, templates and masks apply; no memory effect by itself.
   * @defaultValue { kind: 'sft' }
   * @see https://github.com/hiyouga/LLaMA-Factory#supported-training-approaches (stage: pt, sft)
   */
  stage: stageSchema.default({ kind: 'sft' }),
  /**
   * Tokens added to the tokenizer, and the eos and pad tokens.
   * Each added token adds a row to embed_tokens and lm_head.
   * @defaultValue {}
   * @see https://huggingface.co/docs/transformers/main_classes/tokenizer
   */
  tokens: tokensSchema.default({ chatml: false, add: [], addBos: true }),
  /**
   * The LoRA adapter.
   * Its rank and target modules set the trainable parameters and their optimizer memory.
   * @defaultValue PEFT's LoraConfig defaults
   * @see https://arxiv.org/abs/2106.09685 (LoRA)
   */
  lora: loraSchema.default({ rank: 8, alpha: 8, dropout: 0, modulesToSave: [], trainableTokens: false, rsLora: false, useDora: false, init: 'default', initLoraWeights: true }),
  /**
   * The training method when it is not LoRA: `{ kind: 'full' }` (every weight trains) or
   * `{ kind: 'freeze', trainableLayers, trainableModules, extraModules }` (some layers train).
   * Full training needs ≈ 16 bytes per parameter; freeze only for the layers it trains.
   * @defaultValue LoRA, from the `lora` key
   * @see https://llamafactory.readthedocs.io/en/latest/getting_started/sft.html (finetuning_type)
   */
  method: methodSchema.optional(),
  /**
   * Training data: source, format, template, length and masking.
   * Its maxLength and packing set the activation memory per step.
   * @defaultValue (required)
   * @see https://huggingface.co/docs/trl/sft_trainer
   */
  data: dataSchema,
  /**
   * Training hyperparameters, named after transformers' TrainingArguments.
   * Batch size sets activation memory; learning rate and length set quality.
   * @defaultValue TrainingArguments' defaults
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments
   */
  args: argsSchema.default(argsSchema.parse({})),
  /**
   * Generation metrics on the held-out conversations (`data.split`): each is answered up to its last
   * assistant turn and scored against that turn, after training (and on the base model with `base`).
   * Costs generation time after training; no training memory.
   * @defaultValue undefined (no generation metrics; eval loss only)
   * @see https://llamafactory.readthedocs.io/en/latest/getting_started/eval.html (predict_with_generate)
   */
  eval: evalSchema.optional(),
  /**
   * Compute backend: `'tfjs'` (in-process TensorFlow.js), `'torch'` (Python worker on PyTorch) or
   * `'auto'` (torch when a CUDA-capable torch is present, tfjs otherwise; the run says why).
   * tfjs computes in float32 (more memory than torch in bf16).
   * @defaultValue 'auto'
   * @see https://github.com/tensorflow/tfjs and https://pytorch.org
   */
  backend: backendSchema,
  /**
   * Device for the backend: `'auto'`, `'cpu'`, `'cuda'` (torch), or `'wasm'` (tfjs).
   * A GPU is much faster; memory limits come from the chosen device.
   * @defaultValue 'auto'
   * @see https://www.tensorflow.org/js/guide/platform_environment
   */
  device: deviceSchema,
  /**
   * Train in several processes under torchrun (DDP or FSDP), on one machine or several; torch
   * backend, sft and pretrain stages. Each process holds a model copy (DDP) or a shard (FSDP);
   * the global batch and the losses are the one-process run's.
   * @defaultValue undefined (one process)
   * @see https://pytorch.org/docs/stable/elastic/run.html
   */
  distributed: distributedSchema.optional(),
  /**
   * Where results go, and whether to merge.
   * Merging needs disk for a full copy of the model.
   * @defaultValue { merge: true, maxShardSize: '5GB' }
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.output_dir
   */
  output: outputSchema.default({ merge: true, maxShardSize: '5GB', samples: [], maxNewTokens: 128, gguf: [], cacheDir: '.tunekit/cache' }),
})

export type RecipeSchemaInput = z.input<typeof recipeSchema>
export type ResolvedRecipe = z.output<typeof recipeSchema>
