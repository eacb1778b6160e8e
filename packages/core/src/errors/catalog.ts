/**
 * The one error catalog of tunekit. Each entry has a stable `code` and `name` (never renamed), a
 * `title`, a `message` that says what happened and why, and a `hint` that says what to do.
 *
 * @see https://docs.astro.build/en/reference/error-reference/ — the pattern this follows.
 */
export interface ErrorData {
  /** Stable code printed with every occurrence, e.g. `TK101`. */
  code: string
  /** Stable name for programs. */
  name: string
  /** One line that names the problem. */
  title: string
  /** What happened and why; receives the details of the occurrence. */
  message: (...args: never[]) => string
  /** What to do about it. */
  hint: string | ((...args: never[]) => string)
}

const show = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === undefined) return 'undefined'
  try {
    const text = JSON.stringify(value)
    return text.length > 80 ? `${text.slice(0, 77)}...` : text
  } catch {
    return String(value)
  }
}
const list = (values: readonly unknown[]): string => values.map(show).join(', ')

// Levenshtein distance, ignoring case (`learningrate` is zero edits from `learningRate`).
const distance = (a: string, b: string): number => {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j)
  for (let i = 1; i <= x.length; i++) {
    const row = [i]
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[y.length]!
}

/** The allowed key closest to a misspelt one, if it is close enough to be the likely intent. */
const closest = (key: string, allowed: readonly string[]): string | undefined => {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1
  for (const candidate of allowed) {
    const d = distance(key, candidate)
    if (d < bestDistance) [best, bestDistance] = [candidate, d]
  }
  return best
}

export const errors = {
  // ── recipe shape (zod) ───────────────────────────────────────────────────────────────────
  InvalidType: {
    code: 'TK101',
    name: 'InvalidType',
    title: 'Wrong type',
    message: (expected: string, received: string) => `expected ${expected}, received ${received}`,
    hint: 'Give a value of the expected type; hover the key in your editor to see its documentation.',
  },
  UnknownKey: {
    code: 'TK102',
    name: 'UnknownKey',
    title: 'Unknown key',
    message: (key: string, allowed: readonly string[]) => {
      const guess = closest(key, allowed)
      return `unknown key ${show(key)}${guess ? ` (did you mean ${show(guess)}?)` : ''}; allowed keys here: ${allowed.join(', ')}`
    },
    hint: 'Check the spelling; keys are camelCase (rank, learningRate, targetModules).',
  },
  OutOfRange: {
    code: 'TK103',
    name: 'OutOfRange',
    title: 'Value out of range',
    message: (detail: string) => detail,
    hint: 'Pick a value inside the range; the key documentation gives typical values.',
  },
  InvalidValue: {
    code: 'TK104',
    name: 'InvalidValue',
    title: 'Value not allowed',
    message: (allowed: readonly unknown[]) => `expected one of ${list(allowed)}`,
    hint: 'Use one of the allowed values.',
  },
  MissingKey: {
    code: 'TK105',
    name: 'MissingKey',
    title: 'Required key missing',
    message: (expected: string) => `required ${expected} is missing`,
    hint: 'Add the key; `tunekit schema` prints the full recipe schema.',
  },
  InvalidRecipe: {
    code: 'TK106',
    name: 'InvalidRecipe',
    title: 'Invalid recipe value',
    message: (detail: string) => detail,
    hint: 'Fix the value at the path shown.',
  },
  // ── model-aware checks ───────────────────────────────────────────────────────────────────
  UnknownModule: {
    code: 'TK201',
    name: 'UnknownModule',
    title: 'Module not in this model family',
    message: (module: string, family: string, allowed: readonly string[]) =>
      `${show(module)} is not a module of the ${family} family; its modules are ${allowed.join(', ')}`,
    hint: (family: string) =>
      `Use module names from the ${family} family (the editor offers them after \`family: '${family}'\`), or 'all-linear'.`,
  },
  UnknownFamily: {
    code: 'TK202',
    name: 'UnknownFamily',
    title: 'Unknown model family',
    message: (family: string | undefined, allowed: readonly string[]) =>
      family === undefined
        ? `model.family is not given (tunekit does not guess it from model.id); known families: ${allowed.join(', ')}`
        : `${show(family)} is not a known model family; known families: ${allowed.join(', ')}`,
    hint: "Set model.family to the architecture of the checkpoint (config.json \"model_type\"); for a decoder tunekit has no family for, model.family: 'auto' with backend: 'torch' trains any architecture transformers loads without remote code.",
  },
  AddedTokensNeedEmbeddings: {
    code: 'TK203',
    name: 'AddedTokensNeedEmbeddings',
    title: 'Added tokens would never be trained',
    message: (tokens: readonly string[]) =>
      `the recipe adds ${list(tokens)} but neither embeds nor trains their embedding rows, so the new tokens keep random vectors`,
    hint: (fix?: string) => fix ?? "Add 'embed_tokens' and 'lm_head' to lora.modulesToSave, or set lora.trainableTokens: true to train only the new rows.",
  },
  MaxLengthExceedsContext: {
    code: 'TK204',
    name: 'MaxLengthExceedsContext',
    title: 'maxLength is longer than the model context',
    message: (maxLength: number, context: number, model: string) =>
      `data.maxLength is ${maxLength} but ${model} was trained with a context of ${context} tokens`,
    hint: (context: number) => `Set data.maxLength to at most ${context}.`,
  },
  NoTrainingSteps: {
    code: 'TK205',
    name: 'NoTrainingSteps',
    title: 'The batch plan has no step',
    message: (samples: number, batch: number) =>
      `${samples} training samples with an effective batch of ${batch} give no optimiser step`,
    hint: 'Lower args.batchSize or args.gradientAccumulationSteps, or provide more data.',
  },
  QuantizeMismatch: {
    code: 'TK206',
    name: 'QuantizeMismatch',
    title: 'Quantisation bits and type disagree',
    message: (bits: number, type: string) => `model.quantize has bits ${bits} with type ${show(type)}`,
    hint: "Use bits 4 with type 'nf4' or 'fp4', or bits 8 with type 'int8'.",
  },
  StepsUnset: {
    code: 'TK207',
    name: 'StepsUnset',
    title: 'Training length is unset',
    message: () => 'neither args.epochs nor args.maxSteps is a positive number',
    hint: 'Set args.epochs (e.g. 3) or args.maxSteps.',
  },
  EvalSplitNeedsHub: {
    code: 'TK208',
    name: 'EvalSplitNeedsHub',
    title: 'evalSplit needs a Hub dataset',
    message: (kind: string) => `data.split.evalSplit names a split of a Hub dataset, but data.source is a ${kind} source`,
    hint: 'Remove evalSplit to carve the eval set out of the records (data.split.eval), or use hub(…) as the source.',
  },
  TemplateWithPretrain: {
    code: 'TK210',
    name: 'TemplateWithPretrain',
    title: 'a chat template with the pretrain stage',
    message: () => "stage 'pretrain' trains raw text as it is, so there is nothing for data.template to render",
    hint: "Remove data.template, or use stage: { kind: 'sft' } with conversation data.",
  },
  MaskWithPretrain: {
    code: 'TK211',
    name: 'MaskWithPretrain',
    title: 'a turn mask with the pretrain stage',
    message: (mask: string) => `stage 'pretrain' trains every token of every document; data.mask '${mask}' picks turns of a conversation, which raw text has none of`,
    hint: "Remove data.mask (or set it to 'all'), or use stage: { kind: 'sft' } with conversation data.",
  },
  TextFormatNeedsPretrain: {
    code: 'TK212',
    name: 'TextFormatNeedsPretrain',
    title: "data.format 'text' outside the pretrain stage",
    message: (stage: string) => `data.format 'text' reads raw documents, which have no turns to fine-tune on; stage '${stage}' needs conversations`,
    hint: "Set stage: { kind: 'pretrain' } to train on raw text, or pick a conversation format ('alpaca', 'sharegpt', 'openai', 'chatml-text').",
  },
  PretrainNeedsText: {
    code: 'TK213',
    name: 'PretrainNeedsText',
    title: "the pretrain stage without data.format 'text'",
    message: (format: string) => `stage 'pretrain' trains raw text, but data.format ${format} gives conversations`,
    hint: "Set data.format: 'text' (a record's text field, or one document per line of a .txt file), or use stage: { kind: 'sft' }.",
  },
  TrainableTokensWithSavedEmbeddings: {
    code: 'TK209',
    name: 'TrainableTokensWithSavedEmbeddings',
    title: 'embed_tokens is both saved in full and trained by rows',
    message: () => "lora.modulesToSave holds 'embed_tokens' and lora.trainableTokens is set; PEFT refuses an adapter that trains the same embedding both ways",
    hint: "Keep one: lora.trainableTokens (the new rows only, a few KB) or 'embed_tokens' in lora.modulesToSave (the whole table).",
  },
  // ── training methods (TK23x) ─────────────────────────────────────────────────────────────
  OptionOfAnotherMethod: {
    code: 'TK230',
    name: 'OptionOfAnotherMethod',
    title: "Option of another training method",
    message: (key: string, owner: string, kind: string) =>
      `${key === 'lora' ? 'the `lora` key configures' : `${show(key)} is an option of`} method '${owner}', but this recipe's method is '${kind}'`,
    hint: (remove: string, switchTo: string) => `Remove ${remove}, or ${switchTo}.`,
  },
  MethodGivenTwice: {
    code: 'TK231',
    name: 'MethodGivenTwice',
    title: 'LoRA is configured twice',
    message: () => "the recipe has both a `lora` key and method: { kind: 'lora', … }; they say the same thing",
    hint: "Keep one: the `lora` key (the usual way), or method: { kind: 'lora', … } without the `lora` key.",
  },
  MethodNeedsUnquantizedWeights: {
    code: 'TK232',
    name: 'MethodNeedsUnquantizedWeights',
    title: 'This method trains the base weights, which cannot be quantised',
    message: (kind: string) => `method '${kind}' updates the base weights, and 4-/8-bit weights cannot take gradient updates (QLoRA trains adapters beside them)`,
    hint: "Remove model.quantize, or train LoRA over the quantised weights (leave out method, or method: { kind: 'lora' }).",
  },
  UnknownFreezeModule: {
    code: 'TK233',
    name: 'UnknownFreezeModule',
    title: 'Not a module freeze can train',
    message: (module: string, key: string, allowed: readonly string[]) => `${show(module)} is not one of the modules ${key} can name (${allowed.join(', ')})`,
    hint: (allowed: readonly string[]) => `Use one of ${allowed.join(', ')}.`,
  },
  // ── tool calling in data (TK26x) ─────────────────────────────────────────────────────────
  BadToolDefinitions: {
    code: 'TK260',
    name: 'BadToolDefinitions',
    title: 'The tool definitions of a record cannot be used',
    message: (where: string, reason: string) => `${where}: ${reason}`,
    hint: "Give tools as a JSON list of functions, { name, description, parameters } or { type: 'function', function: { … } }; or set data.onError: 'skip'.",
  },
  BadToolCall: {
    code: 'TK261',
    name: 'BadToolCall',
    title: 'A tool call of a record cannot be used',
    message: (where: string, reason: string) => `${where}: ${reason}`,
    hint: 'Write each call as {"name": …, "arguments": {…}} with the arguments a JSON object (openai: function.arguments is the JSON text of one); or set data.onError: \'skip\'.',
  },
  ToolResultWithoutCall: {
    code: 'TK262',
    name: 'ToolResultWithoutCall',
    title: 'A tool result answers no call',
    message: (where: string, reason: string) => `${where}: ${reason}`,
    hint: "Put the assistant's tool call (sharegpt function_call, openai tool_calls) right before its result, or set data.onError: 'skip'.",
  },
  UnknownTool: {
    code: 'TK263',
    name: 'UnknownTool',
    title: 'A tool call names a function the record does not define',
    message: (where: string, reason: string) => `${where}: ${reason}`,
    hint: "Add the function to the record's tools (the model is trained to call only what it is shown), fix the name, or set data.onError: 'skip'.",
  },
  ToolsNotRendered: {
    code: 'TK264',
    name: 'ToolsNotRendered',
    title: 'The chat template drops tool definitions',
    message: (where: string, reason: string) => `${where}: ${reason}`,
    hint: "Pick a template that renders tools (data.template: 'chatml', 'llama-3', 'mistral-instruct', or a model's own that reads `tools`), or drop the record's tools.",
  },
  ToolCallNotRendered: {
    code: 'TK265',
    name: 'ToolCallNotRendered',
    title: 'The chat template drops or garbles a tool call',
    message: (where: string, reason: string) => `${where}: ${reason}`,
    hint: "Pick a template that renders message.tool_calls (data.template: 'chatml', 'llama-3', 'mistral-instruct', or a model's own that reads them), or set data.onError: 'skip'.",
  },
  // ── files, data and resources ────────────────────────────────────────────────────────────
  ModelNotFound: {
    code: 'TK301',
    name: 'ModelNotFound',
    title: 'Model weights not found',
    message: (id: string, looked: readonly string[]) =>
      `the weights of ${show(id)} are not on this machine (looked in ${looked.join(', ')})`,
    hint: (id: string) =>
      `Download them once (huggingface-cli download ${id}) into the Hub cache (HF_HOME), pass a local folder with --model-path or TUNEKIT_MODEL_PATH, or allow downloads by unsetting HF_HUB_OFFLINE.`,
  },
  DatasetNotFound: {
    code: 'TK302',
    name: 'DatasetNotFound',
    title: 'Dataset not found',
    message: (id: string, looked: readonly string[]) =>
      `the dataset ${show(id)} is not on this machine (looked in ${looked.join(', ')})`,
    hint: (id: string) =>
      `Download it once (huggingface-cli download --repo-type dataset ${id}) into the Hub cache (HF_HOME), or point data.source at local files with file('…') or --data-path.`,
  },
  BadRecord: {
    code: 'TK303',
    name: 'BadRecord',
    title: 'A data record cannot be used',
    message: (where: string, reason: string) => `${where}: ${reason}`,
    hint: "Fix the record, or set data.onError: 'skip' to skip bad records (each one is reported).",
  },
  EmptyDataset: {
    code: 'TK304',
    name: 'EmptyDataset',
    title: 'No usable sample',
    message: (stage: string) => `the ${stage} step produced no sample`,
    hint: 'Check data.source and data.format; `tunekit plan` shows the counts at every step.',
  },
  TemplateRender: {
    code: 'TK305',
    name: 'TemplateRender',
    title: 'The chat template cannot render a conversation',
    message: (where: string, reason: string) => `${where}: ${reason}`,
    hint: 'Pick a template that supports these roles (data.template), or fix the conversation.',
  },
  FullyMasked: {
    code: 'TK306',
    name: 'FullyMasked',
    title: 'A sample has no trained token',
    message: (count: number, example: string) =>
      `${count} sample(s) have every label masked (first: ${example}), so they teach nothing`,
    hint: "Raise data.maxLength, use data.truncation: 'drop', or change data.mask.",
  },
  EosNotSupervised: {
    code: 'TK307',
    name: 'EosNotSupervised',
    title: 'The model would never learn to stop',
    message: (eos: string, where: string) => `${where}: the end-of-turn token ${show(eos)} is not a supervised label`,
    hint: 'Make sure the template ends assistant turns with the eos token (tokens.eos) and that it is not the pad token.',
  },
  TokenizerRoundTrip: {
    code: 'TK308',
    name: 'TokenizerRoundTrip',
    title: 'Rendered text does not survive tokenisation',
    message: (where: string, detail: string) => `${where}: ${detail}`,
    hint: 'Add the special tokens the template writes to the tokenizer (tokens.add, or tokens.chatml for ChatML), or pick a template whose markers this tokenizer has (data.template).',
  },
  MalformedSafetensors: {
    code: 'TK309',
    name: 'MalformedSafetensors',
    title: 'Malformed safetensors file',
    message: (file: string, reason: string) => `${file}: ${reason}`,
    hint: 'The file is truncated or not a safetensors file; download or write it again.',
  },
  BadModelConfig: {
    code: 'TK310',
    name: 'BadModelConfig',
    title: 'config.json lacks a field the family needs',
    message: (field: string, family: string) => `config.json has no numeric ${show(field)}, which a ${family} model needs`,
    hint: 'Point the model at a Hugging Face model folder whose config.json matches model.family (model_type, hidden_size, …).',
  },
  DataFileNotFound: {
    code: 'TK311',
    name: 'DataFileNotFound',
    title: 'Data file not found',
    message: (path: string) => `the data file or folder ${show(path)} does not exist`,
    hint: "A relative path in file('…') is read from the recipe file's folder; fix the path, or pass the data with --data-path.",
  },
  // ── model folders and adapters (TK34x) ─────────────────────────────────────────────────
  MalformedTokenizer: {
    code: 'TK340',
    name: 'MalformedTokenizer',
    title: 'Malformed tokenizer file',
    message: (file: string, reason: string) => `${file}: ${reason}`,
    hint: 'The tokenizer file is damaged or was cut short: download the model folder again, or copy tokenizer.json from the checkpoint it came with.',
  },
  WeightShapeMismatch: {
    code: 'TK341',
    name: 'WeightShapeMismatch',
    title: 'Weights disagree with config.json',
    message: (tensor: string, file: string, expected: readonly number[], found: readonly number[]) =>
      `${file}: ${show(tensor)} has shape ${show(found)} but config.json gives ${show(expected)}`,
    hint: 'config.json and the weights come from different models: put back the config.json saved with these weights (hidden_size, intermediate_size, vocab_size, num_* fields), or download the folder again.',
  },
  MissingWeight: {
    code: 'TK342',
    name: 'MissingWeight',
    title: 'A weight config.json needs is missing',
    message: (tensor: string, dir: string, why: string) => `the weights in ${dir} have no ${show(tensor)}, which config.json needs${why}`,
    hint: (tensor: string) =>
      tensor === 'lm_head.weight'
        ? 'Download the folder again; if the model shares its embeddings with the output layer, set "tie_word_embeddings": true in config.json.'
        : 'The weights are incomplete or from another architecture: download the folder again (every shard the index names).',
  },
  MalformedModelConfig: {
    code: 'TK343',
    name: 'MalformedModelConfig',
    title: 'config.json cannot be read',
    message: (file: string, reason: string) => `${file}: ${reason}`,
    hint: 'Restore the config.json saved with the weights (transformers writes it with save_pretrained), or download the folder again.',
  },
  UnsupportedModelType: {
    code: 'TK344',
    name: 'UnsupportedModelType',
    title: 'Model architecture not supported',
    message: (file: string, modelType: unknown, known: readonly string[]) =>
      `${file}: model_type ${show(modelType)} is not an architecture tunekit can load; known: ${known.join(', ')}`,
    hint: "Use a checkpoint of a known family (config.json \"model_type\"), or train it as it is with model.family: 'auto' and backend: 'torch' (any decoder transformers loads without remote code), or restore its config.json if it was edited.",
  },
  FamilyMismatch: {
    code: 'TK345',
    name: 'FamilyMismatch',
    title: 'model.family differs from the checkpoint',
    message: (family: string, modelType: string, file: string) => `model.family is ${show(family)} but ${file} says model_type ${show(modelType)}`,
    hint: (modelType: string) => `Set model.family: '${modelType}' so module names and defaults match the checkpoint.`,
  },
  UnexpectedWeight: {
    code: 'TK346',
    name: 'UnexpectedWeight',
    title: 'Weights config.json does not describe',
    message: (dir: string, count: number, first: readonly string[]) =>
      `the weights in ${dir} hold ${count} tensor${count === 1 ? '' : 's'} that config.json does not describe (${list(first)}${count > first.length ? ', …' : ''}); they are ignored`,
    hint: 'If config.json was edited (num_hidden_layers, tie_word_embeddings), put back the one saved with the weights.',
  },
  MalformedAdapter: {
    code: 'TK347',
    name: 'MalformedAdapter',
    title: 'Malformed adapter',
    message: (file: string, reason: string) => `${file}: ${reason}`,
    hint: 'The adapter folder is damaged or was edited: use the adapter_config.json and adapter_model.safetensors written together (runs/<name>/adapter), or train it again.',
  },
  AdapterModelMismatch: {
    code: 'TK348',
    name: 'AdapterModelMismatch',
    title: 'The adapter does not fit this model',
    message: (file: string, reason: string) => `${file}: ${reason}`,
    hint: (baseModel: string) => `Apply the adapter to the model it was trained on${baseModel ? ` (base_model_name_or_path: ${baseModel})` : ''}: \`tunekit chat <that model folder> --adapter <adapter>\`.`,
  },
  NewHeadWeights: {
    code: 'TK349',
    name: 'NewHeadWeights',
    title: 'The checkpoint has no task head: it starts from random weights',
    message: (dir: string, head: readonly string[], architecture: string) =>
      `the weights in ${dir} have no ${list(head)} (a checkpoint saved without ${architecture}'s head, such as a pretrained encoder); ${head.length === 1 ? 'it is' : 'they are'} initialised as transformers initialises a new head, normal(0, initializer_range) with zero biases, seeded by args.seed`,
    hint: 'Nothing to fix when you fine-tune a pretrained checkpoint: the head trains from this start. To evaluate without training, use a folder that holds a trained head (runs/<name>/merged).',
  },
  // TK280–TK299: preference data (pairs and KTO's unpaired examples).
  BadPreference: {
    code: 'TK280',
    name: 'BadPreference',
    title: 'A preference record cannot be used',
    message: (where: string, reason: string) => `${where}: ${reason}`,
    hint: "Give every record a prompt, a non-empty chosen and rejected answer (or a completion and a true/false label for KTO), or set data.onError: 'skip' to skip such records (each one is reported).",
  },
  PreferencePromptsDiffer: {
    code: 'TK281',
    name: 'PreferencePromptsDiffer',
    title: 'Chosen and rejected do not share a prompt',
    message: (where: string, reason: string) => `${where}: ${reason}; without an explicit "prompt" the prompt is the messages chosen and rejected share from the start, as TRL's extract_prompt finds it`,
    hint: "Give the record an explicit \"prompt\" (text or messages), or make chosen and rejected the same conversation up to their final answers; data.onError: 'skip' skips such records.",
  },
  PreferenceIdentical: {
    code: 'TK282',
    name: 'PreferenceIdentical',
    title: 'A pair prefers an answer to itself',
    message: (count: number, example: string) => `${count} pair(s) have chosen equal to rejected after tokenization (first: ${example}); their preference loss has no signal`,
    hint: 'Remove such pairs from the data or fix their rejected answer; they cost compute and teach nothing.',
  },
  PreferenceTruncatedAway: {
    code: 'TK283',
    name: 'PreferenceTruncatedAway',
    title: 'Truncation leaves an answer with no trained token',
    message: (count: number, example: string, maxLength: number, maxPromptLength: number) =>
      `${count} record(s) keep no label of their chosen, rejected or completion answer after truncation to data.maxLength ${maxLength} with data.maxPromptLength ${maxPromptLength} (first: ${example})`,
    hint: "Raise data.maxLength, or lower data.maxPromptLength so that answers keep tokens (answers are cut to maxLength − maxPromptLength when a record is too long); data.onError: 'skip' leaves such records out.",
  },
  // TK290–TK299: extractive QA data (SQuAD v1.1 / v2.0 and flat records with the same fields).
  BadQaRecord: {
    code: 'TK290',
    name: 'BadQaRecord',
    title: 'A question-answering record cannot be read',
    message: (where: string, reason: string) => `${where}: ${reason}`,
    hint: 'Give every question an id, a question, a context and answers as SQuAD writes them ({ text, answer_start } objects, or { text: [...], answer_start: [...] } in flat records).',
  },
  QaAnswerMismatch: {
    code: 'TK291',
    name: 'QaAnswerMismatch',
    title: 'An answer is not the context at its answer_start',
    message: (id: string, answer: string, found: string, start: number) => `question ${show(id)}: the answer ${show(answer)} is not the context at answer_start ${start}, which reads ${show(found)}`,
    hint: 'Fix answer_start (a character index into the context, counted from 0) or the answer text; the labels are cut from the context at that index.',
  },
  QaUnanswerableInV1: {
    code: 'TK292',
    name: 'QaUnanswerableInV1',
    title: 'An unanswerable question in SQuAD v1.1 data',
    message: (id: string) => `question ${show(id)} has no answer (or is_impossible: true), which SQuAD v1.1 does not allow`,
    hint: "Give it an answer, or read the data as SQuAD v2.0 (version: '2.0'), where a question may have none and the model learns to answer with [CLS].",
  },
  QaQuestionTooLong: {
    code: 'TK293',
    name: 'QaQuestionTooLong',
    title: 'A question leaves no room for its context',
    message: (id: string, tokens: number, maxLength: number) => `question ${show(id)} is ${tokens} tokens, so [CLS] question [SEP] … [SEP] leaves no context token within maxLength ${maxLength}`,
    hint: 'Raise data.maxLength, or shorten the question.',
  },
  QaStrideTooLarge: {
    code: 'TK294',
    name: 'QaStrideTooLarge',
    title: 'docStride is not smaller than the context window',
    message: (id: string, stride: number, window: number) => `question ${show(id)}: docStride ${stride} is not smaller than the ${window} context tokens a window holds, so windows would not advance`,
    hint: 'Lower docStride (transformers\' run_qa.py uses 128 with maxLength 384), or raise maxLength.',
  },
  // TK240–TK259: runs that reproduce a reference (pre-tokenized data, warm starts).
  TokensFormatNeedsNoTemplate: {
    code: 'TK240',
    name: 'TokensFormatNeedsNoTemplate',
    title: "data.format 'tokens' with a template or a mask",
    message: (key: string) => `data.format 'tokens' reads records that are already token ids with their own labels, so ${key} has nothing to render or pick`,
    hint: (key: string) => `Remove ${key}: the records' labels (-100 where masked) or mask field say which tokens carry loss.`,
  },
  WarmStartNotAdapter: {
    code: 'TK241',
    name: 'WarmStartNotAdapter',
    title: 'lora.init names no PEFT adapter folder',
    message: (folder: string, why: string) => `lora.init ${show(folder)} is not 'default' or 'gaussian', so it names the adapter folder to start from, but ${why}`,
    hint: "Point lora.init at a folder with adapter_config.json and adapter_model.safetensors (PEFT's save_pretrained, or runs/<name>/adapter), relative to the recipe's folder; or use 'default' / 'gaussian' to start from a fresh adapter.",
  },
  WarmStartMismatch: {
    code: 'TK242',
    name: 'WarmStartMismatch',
    title: "The warm-start adapter does not match the recipe's LoRA options",
    message: (folder: string, adapterKey: string, adapterValue: unknown, recipeKey: string, recipeValue: unknown) =>
      `${show(folder)} has ${adapterKey} ${show(adapterValue)} but the recipe's ${recipeKey} is ${show(recipeValue)}; a warm start continues that adapter, so its shape and scale must be the recipe's`,
    hint: (recipeKey: string, adapterValue: unknown) => `Set ${recipeKey}: ${show(adapterValue)} (the adapter's value), or start from another adapter.`,
  },
  // TK243–TK249: DoRA (lora.useDora, PEFT's use_dora).
  DoraMagnitudeMissing: {
    code: 'TK243',
    name: 'DoraMagnitudeMissing',
    title: 'A DoRA adapter without its magnitude vectors',
    message: (file: string, count: number, first: string) =>
      `${file}: adapter_config.json has use_dora true, but ${count} adapted module(s) have no lora_magnitude_vector (first: ${first}); DoRA scales each module's output rows by that vector, so the adapter cannot be applied without it`,
    hint: "Use the adapter folder as PEFT's save_pretrained (PEFT ≥ 0.9) or tunekit wrote it, with its magnitude vectors; if it was trained as plain LoRA, set use_dora to false in adapter_config.json (and lora.useDora: false in the recipe).",
  },
  DoraMagnitudeUnexpected: {
    code: 'TK244',
    name: 'DoraMagnitudeUnexpected',
    title: 'Magnitude vectors in an adapter that is not DoRA',
    message: (file: string, count: number, first: string) =>
      `${file}: ${count} lora_magnitude_vector tensor(s) (first: ${first}) but adapter_config.json does not set use_dora; applied as plain LoRA they would be ignored and the model would not be the one trained`,
    hint: 'Set "use_dora": true in adapter_config.json (and lora.useDora: true in a recipe that continues it), or use the adapter_config.json written with these weights.',
  },
  // TK250–TK259: model families (rope scaling, qwen3, gemma).
  UnsupportedRopeScaling: {
    code: 'TK250',
    name: 'UnsupportedRopeScaling',
    title: 'A rope_scaling type tunekit does not compute',
    message: (modelType: string, ropeType: unknown, known: readonly string[]) =>
      `config.json's rope scaling type ${show(ropeType)} (rope_scaling / rope_parameters "rope_type") is not one tunekit computes for ${modelType}; supported: ${known.join(', ')}`,
    hint: "Use a checkpoint whose rope scaling is one of the supported types (Llama 3.x uses 'llama3'), or restore its config.json if it was edited.",
  },
  BadRopeScaling: {
    code: 'TK251',
    name: 'BadRopeScaling',
    title: 'A rope_scaling field is missing or not a number',
    message: (ropeType: string, field: string, reason: string) => `config.json's ${ropeType} rope scaling: ${field} ${reason}`,
    hint: "Give the field as transformers' modeling_rope_utils reads it (factor, low_freq_factor, high_freq_factor, original_max_position_embeddings, …), or restore the checkpoint's config.json.",
  },
  GgufRopeScalingUnsupported: {
    code: 'TK252',
    name: 'GgufRopeScalingUnsupported',
    title: 'GGUF export of a model with scaled rotary embeddings',
    message: (dir: string, ropeType: string) =>
      `${dir}: config.json scales its rotary embeddings (rope type ${show(ropeType)}); the GGUF writer does not write llama.cpp's rope scaling keys or rope_freqs tensor yet, so the file would run with plain rotary embeddings and give other logits`,
    hint: "Leave output.gguf empty for this model and convert the merged folder (runs/<name>/merged) with llama.cpp's convert_hf_to_gguf.py, which writes the rope scaling.",
  },
  // TK253–TK259, TK266–TK269: model families (phi-3, mixtral, remote code).
  PartialRotaryUnsupported: {
    code: 'TK253',
    name: 'PartialRotaryUnsupported',
    title: 'Rotary embeddings over part of each head',
    message: (modelType: string, factor: number) =>
      `config.json's partial_rotary_factor is ${factor}: ${modelType} rotates only that share of each head's width (as Phi-4-mini does), which tunekit's rotary tables do not compute; only 1 is supported`,
    hint: 'Use a checkpoint whose partial_rotary_factor is 1 (Phi-3 mini, Phi-3 medium).',
  },
  RemoteCodeModel: {
    code: 'TK254',
    name: 'RemoteCodeModel',
    title: 'The architecture is remote code (trust_remote_code)',
    message: (file: string, modelType: string) =>
      `${file}: model_type ${show(modelType)} is defined by Python code shipped with the checkpoint (config.json auto_map; transformers loads it only with trust_remote_code=True), and tunekit runs no downloaded code on either backend`,
    hint: (instead: string) => `Use ${instead}.`,
  },
  MoeModulesUnsupported: {
    code: 'TK255',
    name: 'MoeModulesUnsupported',
    title: "A mixture of experts' experts or router trained",
    message: (what: string, family: string) =>
      `${what} trains ${family}'s experts or router: transformers 5 holds the experts as fused 3-D parameters (experts.gate_up_proj / down_proj) and the router as a bare weight, which PEFT adapts through target_parameters; tunekit does not train them yet`,
    hint: "Adapt the attention modules (q_proj, k_proj, v_proj, o_proj; 'all-linear' is these), with modulesToSave for embed_tokens / lm_head if needed.",
  },
  MoeJitterUnsupported: {
    code: 'TK256',
    name: 'MoeJitterUnsupported',
    title: 'Router jitter noise',
    message: (modelType: string, jitter: number) =>
      `config.json's router_jitter_noise is ${jitter}: ${modelType} would multiply each router input by uniform noise while training, a draw the two backends cannot repeat alike`,
    hint: 'Set router_jitter_noise to 0 in config.json (Mixtral ships 0).',
  },
  MoeGradientCheckpointing: {
    code: 'TK257',
    name: 'MoeGradientCheckpointing',
    title: 'Gradient checkpointing of a mixture of experts on tfjs',
    message: (family: string) =>
      `model.gradientCheckpointing on a ${family} model: tfjs recomputes each layer as one custom gradient, which would hide the router's probabilities from the load-balancing loss (router_aux_loss_coef)`,
    hint: "Leave model.gradientCheckpointing off on the tfjs backend, use backend: 'torch', or set router_aux_loss_coef to 0 in config.json.",
  },
  // TK258, TK259, TK266–TK269: family 'auto' (module names read from the model folder; torch only).
  AutoModuleNotFound: {
    code: 'TK258',
    name: 'AutoModuleNotFound',
    title: 'Module not in the model folder',
    message: (module: string, dir: string, modelType: string, names: readonly string[], where: string) =>
      `${show(module)} names no module of ${dir} (model_type ${show(modelType)}, family 'auto'); the ${where} are ${names.join(', ')}`,
    hint: (module: string, names: readonly string[]) => {
      const guess = closest(module, names)
      return guess ? `Did you mean ${show(guess)}? Use the module names listed (PEFT matches a name against the end of each module path).` : 'Use the module names listed (PEFT matches a name against the end of each module path).'
    },
  },
  AutoNeedsTorch: {
    code: 'TK259',
    name: 'AutoNeedsTorch',
    title: "family 'auto' outside the torch backend",
    message: (backend: string) =>
      `model.family 'auto' loads the checkpoint with transformers' AutoModelForCausalLM, which only the torch backend has; backend ${show(backend)}${backend === 'auto' ? ' picks tfjs on a machine without CUDA' : ' has a model of its own per family'}`,
    hint: (families: readonly string[]) => `Set backend: 'torch', or use a family tunekit runs natively on both backends (${families.join(', ')}).`,
  },
  AutoNeedsTargetModules: {
    code: 'TK266',
    name: 'AutoNeedsTargetModules',
    title: "family 'auto' needs its module names",
    message: (value: string) =>
      `${value} with family 'auto': tunekit has no table of this architecture's linear modules, so it cannot say which to adapt before the folder is read`,
    hint: "List the module names, e.g. targetModules: ['query_key_value', 'dense'] for gpt_neox; `tunekit plan` lists the folder's names when one does not fit.",
  },
  AutoNeedsWeights: {
    code: 'TK267',
    name: 'AutoNeedsWeights',
    title: "family 'auto' needs a model folder",
    message: () => "model.random with family 'auto': a random model is written from a family's own layout, and 'auto' has none until a folder's weights are read",
    hint: "Point model.path (or model.id in the Hub cache) at a transformers model folder (save_pretrained of a random model works), or use a native family with model.random.",
  },
  AutoUnsupported: {
    code: 'TK268',
    name: 'AutoUnsupported',
    title: "Not available with family 'auto'",
    message: (what: string) => `${what} with family 'auto': it reads the modules of a known layout (embed_tokens, model.layers.<i>.…), which an 'auto' checkpoint need not have`,
    hint: "Use LoRA (lora) or full fine-tuning (method: { kind: 'full' }) with stage sft or pretrain, or a native family of the checkpoint.",
  },
  AutoTemplateMissing: {
    code: 'TK269',
    name: 'AutoTemplateMissing',
    title: "No chat template for family 'auto'",
    message: (file: string) => `${file} has no chat_template, and family 'auto' renders chat data with the checkpoint's own template unless data.template names one`,
    hint: "Set data.template (e.g. 'chatml', or { jinja: '…' }), or add the checkpoint's chat_template to tokenizer_config.json.",
  },
  // TK350–TK359: pre-tokenized records (data.format 'tokens').
  TokenLabelsLength: {
    code: 'TK350',
    name: 'TokenLabelsLength',
    title: 'A pre-tokenized record has labels of another length',
    message: (where: string, reason: string) => `${where}: ${reason}; they are read position by position`,
    hint: "Write one label per input id (-100 where the token carries no loss), or set data.onError: 'skip' to skip such records (each one is reported).",
  },
  TokenIdOutOfVocab: {
    code: 'TK351',
    name: 'TokenIdOutOfVocab',
    title: 'A pre-tokenized record holds an id outside the vocabulary',
    message: (where: string, position: number, id: number, vocab: number) => `${where}: input_ids[${position}] is ${id}, but the model's vocabulary has ids 0 to ${vocab - 1}`,
    hint: "Tokenize the records with this model's tokenizer (the ids differ between tokenizers), or set data.onError: 'skip' to skip such records.",
  },
  TokenRecordUnlabelled: {
    code: 'TK352',
    name: 'TokenRecordUnlabelled',
    title: 'A pre-tokenized record has no label',
    message: (where: string, reason: string) => `${where}: ${reason} (position 0 predicts nothing), so the record carries no loss`,
    hint: "Leave the answer's tokens unmasked (labels equal to input_ids there), drop the record, or set data.onError: 'skip'.",
  },
  // TK360–TK369: encoder models (bert).
  UnsupportedActivation: {
    code: 'TK360',
    name: 'UnsupportedActivation',
    title: "The encoder's activation is not one tunekit computes",
    message: (file: string, act: unknown) => `${file}: hidden_act is ${show(act)}; tunekit's bert computes "gelu" (the erf form transformers names "gelu") only`,
    hint: 'Use a BERT checkpoint whose config.json says hidden_act: "gelu" (bert-base-uncased and its fine-tunes do), or set model.random.config.hidden_act to "gelu".',
  },
  EncoderStage: {
    code: 'TK361',
    name: 'EncoderStage',
    title: 'An encoder model cannot train a causal-LM stage',
    message: (family: string, stage: string) => `model.family ${show(family)} is an encoder (bidirectional, no lm_head), and stage ${show(stage)} trains a decoder's next-token predictions`,
    hint: (family: string, decoders: readonly string[]) => `Pick a decoder family (${decoders.join(', ')}) for this stage, or train ${family} on extractive QA with stage: { kind: 'qa' } and data.format: 'squad'.`,
  },
  QaNeedsEncoder: {
    code: 'TK362',
    name: 'QaNeedsEncoder',
    title: 'The qa stage needs an encoder model',
    message: (family: string) => `stage 'qa' trains a start/end span head on a bidirectional encoder, but model.family ${show(family)} is a decoder`,
    hint: (encoders: readonly string[]) => `Use an encoder family (${encoders.join(', ')}), e.g. bert-base-uncased with family 'bert', or train the decoder with stage { kind: 'sft' }.`,
  },
  QaNeedsSquad: {
    code: 'TK363',
    name: 'QaNeedsSquad',
    title: "The qa stage reads data.format 'squad'",
    message: (format: string) => `stage 'qa' reads questions, contexts and answer spans, but data.format is ${format}`,
    hint: "Set data.format: 'squad' (SQuAD v1.1/v2.0 JSON, or flat records with id, question, context and answers { text, answer_start }).",
  },
  SquadNeedsQa: {
    code: 'TK364',
    name: 'SquadNeedsQa',
    title: "data.format 'squad' needs the qa stage",
    message: (stage: string) => `data.format 'squad' holds answer spans for extractive QA, but stage ${show(stage)} trains next-token predictions`,
    hint: "Set stage: { kind: 'qa' } with an encoder model (family 'bert'), or give conversations in another data.format.",
  },
  QaMethodUnsupported: {
    code: 'TK365',
    name: 'QaMethodUnsupported',
    title: 'The qa stage trains with full fine-tuning or plain LoRA',
    message: (what: string) => `stage 'qa' trains every weight (method full) or LoRA adapters with qa_outputs saved, not ${what}`,
    hint: "Use method: { kind: 'full' } or plain LoRA (no quantisation, DoRA, trainable tokens or init other than the default).",
  },
  // No longer raised: both backends run qa-train and qa-eval (kept so the code is never reused).
  QaNeedsTfjs: {
    code: 'TK367',
    name: 'QaNeedsTfjs',
    title: 'The qa stage runs on the tfjs backend',
    message: (backend: string) => `stage 'qa' has tfjs executors only (qa-train, qa-eval), and backend is ${show(backend)}`,
    hint: "Set backend: 'tfjs' (device: 'cuda' with @tensorflow/tfjs-node-gpu for a GPU); the torch worker for BertForQuestionAnswering is not built yet.",
  },
  QaEvalSplitUnsupported: {
    code: 'TK368',
    name: 'QaEvalSplitUnsupported',
    title: "The qa stage holds out contexts from the records, not a source's own split",
    message: (split: string) => `stage 'qa' holds out whole contexts of the training records (data.split.eval), and does not read the source's ${show(split)} split yet`,
    hint: 'Remove data.split.evalSplit and set data.split.eval (a share or a count of questions), or merge the held-out file into the records.',
  },
  QaAskNoTokenizer: {
    code: 'TK715',
    name: 'QaAskNoTokenizer',
    title: 'The folder to ask holds no tokenizer.json',
    message: (dir: string) => `${show(dir)} holds no tokenizer.json, so \`tunekit ask\` cannot window the question and context`,
    hint: "Pass the folder a qa run trained (the qa-train artifact, .tunekit/cache/<qa-train key>), or copy the model's tokenizer.json into it.",
  },
  QaAskContextMissing: {
    code: 'TK716',
    name: 'QaAskContextMissing',
    title: 'The context file to ask about does not exist',
    message: (file: string) => `--context @${file}: no such file`,
    hint: 'Give the context as text (--context "…"), or @ followed by the path of a text file that exists.',
  },
  // ── recipe overrides and the web dashboard (TK72x) ─────────────────────────────────────────
  BadSetFlag: {
    code: 'TK720',
    name: 'BadSetFlag',
    title: 'A --set override is not key=value',
    message: (arg: string) => `--set ${show(arg)}: expected a dotted recipe key, "=", then the value`,
    hint: 'Write --set args.maxSteps=20 (the value is read as JSON when it parses: numbers, true/false, "text", [lists]; else as text).',
  },
  UiRecipeNotOffered: {
    code: 'TK721',
    name: 'UiRecipeNotOffered',
    title: 'The dashboard runs only the recipe files it was started with',
    message: (file: string, offered: readonly string[]) => `${show(file)} is not one of the recipe files this dashboard offers (${offered.length > 0 ? offered.join(', ') : 'none'})`,
    hint: 'Start `tunekit ui` with the recipe files to offer (`tunekit ui recipes/my-recipe.ts`), or put them in ./recipes.',
  },
  UiPortInUse: {
    code: 'TK722',
    name: 'UiPortInUse',
    title: 'The dashboard port is taken',
    message: (port: number) => `port ${port} on 127.0.0.1 is already in use`,
    hint: 'Pick another with --port N, or leave --port out to let the system choose a free one.',
  },
  UiBadPort: {
    code: 'TK726',
    name: 'UiBadPort',
    title: 'The dashboard port is not a port number',
    message: (port: string) => `--port ${show(port)} is not a whole number from 0 to 65535`,
    hint: 'Give a port such as --port 7860, or 0 (the default) to let the system choose a free one.',
  },
  UiRunNotFound: {
    code: 'TK723',
    name: 'UiRunNotFound',
    title: 'No such run folder',
    message: (run: string) => `${show(run)} is not a run folder of this project`,
    hint: 'Pick a run from the runs page; run folders are runs/<name> (or output.dir) with a recipe.json.',
  },
  UiNothingToResume: {
    code: 'TK724',
    name: 'UiNothingToResume',
    title: 'The dashboard did not start this run',
    message: (run: string) => `${show(run)} was not started from this dashboard, so it does not know the recipe file and overrides to resume it with`,
    hint: 'Start it again from its recipe file with the same overrides (the form): a run with the same key resumes from its last checkpoint.',
  },
  UiRunActive: {
    code: 'TK725',
    name: 'UiRunActive',
    title: 'The run is still going',
    message: (run: string) => `${show(run)} is running; stop it first`,
    hint: 'Press Stop (it checkpoints), then Resume.',
  },
  QaOutputUnsupported: {
    code: 'TK366',
    name: 'QaOutputUnsupported',
    title: 'The qa stage writes a question-answering model, not generations or GGUF',
    message: (key: string) => `${key} needs a causal LM (it generates text or exports for llama.cpp), and stage 'qa' trains a span-extraction model`,
    hint: (key: string) => `Remove ${key}; the qa stage writes the trained model in transformers' layout (BertForQuestionAnswering) and scores held-out questions itself (qa-eval's report.json).`,
  },
  // TK370–TK375: IA³ and prompt tuning (issue 13).
  Ia3FeedforwardNotTarget: {
    code: 'TK370',
    name: 'Ia3FeedforwardNotTarget',
    title: 'An IA³ feed-forward module is not a target module',
    message: (module: string, targets: readonly string[]) =>
      `${show(module)} is in feedforwardModules but not in the target modules (${targets.join(', ')}); IA³ scales the input only of modules it adapts (PEFT's IA3Config refuses this too)`,
    hint: 'Add the module to method.targetModules, or remove it from method.feedforwardModules.',
  },
  PromptInitTextMissing: {
    code: 'TK371',
    name: 'PromptInitTextMissing',
    title: "Prompt tuning's TEXT init needs a text",
    message: () => "method.promptTuningInit is 'TEXT' but method.promptTuningInitText is not set; the virtual tokens start as the embeddings of that text's tokens",
    hint: "Set method.promptTuningInitText (e.g. 'Answer the question:'), or use promptTuningInit: 'RANDOM'.",
  },
  PromptInitTextUnused: {
    code: 'TK372',
    name: 'PromptInitTextUnused',
    title: "A prompt-tuning init text without promptTuningInit: 'TEXT'",
    message: () => "method.promptTuningInitText is set but method.promptTuningInit is 'RANDOM', so the text would be ignored",
    hint: "Set method.promptTuningInit: 'TEXT' to start from the text, or remove method.promptTuningInitText.",
  },
  PromptTuningPacking: {
    code: 'TK373',
    name: 'PromptTuningPacking',
    title: 'Prompt tuning cannot train packed rows',
    message: (method: string = 'prompt tuning') => `data.packing puts several examples in one row, but ${method} prepends its virtual tokens once per row and PEFT ignores position ids for it, so the packed examples after the first would see the wrong positions and the other examples`,
    hint: 'Set data.packing: false (each row one example, padded), or train LoRA.',
  },
  PromptTuningStage: {
    code: 'TK374',
    name: 'PromptTuningStage',
    title: 'Prompt tuning trains the sft and pretrain stages only',
    message: (stage: string, method: string = 'prompt tuning') => `stage '${stage}' scores sequences with its own forward passes (reference log-probabilities, pairs, heads), which do not prepend ${method}'s virtual tokens`,
    hint: (method: string = 'prompt tuning') => `Use stage 'sft' (or 'pretrain') with ${method}, or train this stage with LoRA or IA³.`,
  },
  PromptTuningMerge: {
    code: 'TK375',
    name: 'PromptTuningMerge',
    title: 'A prompt-tuning adapter cannot be merged',
    message: (key: string, method: string = 'prompt tuning') => `${key} asks for a merged model, but ${method}'s virtual tokens are inputs, not weights: there is nothing to fold into the base (PEFT cannot merge it either)`,
    hint: (method: string = 'prompt tuning') => `Leave out output.merge (or set it to false) and output.gguf; generate, score and \`tunekit chat --adapter\` run the base model with the adapter, ${method === 'prefix tuning' ? 'its prefix before every layer\'s keys and values' : 'its virtual tokens prepended'}.`,
  },
  // TK376–TK379: P-tuning and prefix tuning (issue 13).
  PrefixTuningFamily: {
    code: 'TK376',
    name: 'PrefixTuningFamily',
    title: "Prefix tuning needs a decoder whose attention takes a key/value prefix",
    message: (family: string) => `prefix tuning feeds per-layer key/value prefixes to attention as past key values, but family '${family}' ${family === 'bert' ? 'is an encoder (PEFT passes no past key values to its question-answering head)' : "has Gemma 2's sliding-window and soft-capped attention layers, which tunekit's tfjs attention does not give a prefix"}`,
    hint: "Train this family with prompt tuning or P-tuning (virtual tokens before the input), LoRA or IA³; prefix tuning runs on llama, mistral, qwen2, qwen3 and gemma.",
  },
  PTuningEncoderLayersIgnored: {
    code: 'TK377',
    name: 'PTuningEncoderLayersIgnored',
    title: "P-tuning's MLP encoder ignores encoderNumLayers",
    message: (layers: number) => `method.encoderNumLayers is ${layers}, but the MLP prompt encoder always has PEFT's three linear layers; only the LSTM encoder stacks encoderNumLayers layers`,
    hint: "Remove method.encoderNumLayers, or set method.encoderReparameterizationType: 'LSTM'.",
  },
  PrefixEncoderWidthUnused: {
    code: 'TK378',
    name: 'PrefixEncoderWidthUnused',
    title: 'encoderHiddenSize without prefixProjection',
    message: () => 'method.encoderHiddenSize is set but method.prefixProjection is false, so there is no projection MLP for it to size (PEFT ignores it too)',
    hint: 'Set method.prefixProjection: true to train the prefix through the MLP, or remove method.encoderHiddenSize.',
  },
  PrefixTuningCheckpointing: {
    code: 'TK379',
    name: 'PrefixTuningCheckpointing',
    title: 'Prefix tuning cannot train with gradient checkpointing',
    message: () => "model.gradientCheckpointing recomputes each layer in the backward pass, but prefix tuning's keys and values enter every layer as its past (a cache), which the recompute does not carry; PEFT refuses the combination too",
    hint: 'Set model.gradientCheckpointing: false (prefix tuning keeps rows their own length, so activations grow less than with prompt tuning), or train P-tuning.',
  },
  // TK392–TK397: LLaMA Pro block expansion and GaLore.
  ExpandedBlocksNotDivisor: {
    code: 'TK392',
    name: 'ExpandedBlocksNotDivisor',
    title: 'LLaMA Pro needs a block count that divides the layer count',
    message: (blocks: number, layers: number) => `method.numExpandedBlocks is ${blocks}, but the model has ${layers} decoder layers: a copy goes after every (layers / blocks)-th layer, so the blocks must divide the layers evenly (LLaMA-Factory's llama_pro.py refuses it too)`,
    hint: (divisors: readonly number[]) => `Set method.numExpandedBlocks to one of ${divisors.join(', ')}.`,
  },
  LlamaProMerge: {
    code: 'TK393',
    name: 'LlamaProMerge',
    title: 'A LLaMA Pro model needs no merge',
    message: (key: string) => `${key} asks for a merged model, but LLaMA Pro's train artifact already is the expanded model (a transformers folder with the added blocks): there is no adapter to fold in`,
    hint: 'Leave out output.merge (or set it to false) and output.gguf; load the train artifact itself (AutoModelForCausalLM.from_pretrained), and generate, score and `tunekit chat` read it as it is.',
  },
  GaloreUnavailable: {
    code: 'TK394',
    name: 'GaloreUnavailable',
    title: 'GaLore needs the galore-torch package',
    message: (detail: string) => `args.optimizer 'galore_adamw' runs transformers' GaLore optimizer, which imports galore_torch, and the torch worker's Python cannot import it (${detail})`,
    hint: "Install it into the worker's Python (TUNEKIT_PYTHON): `pip install galore-torch`; or use args.optimizer 'adamw_torch'.",
  },
  GaloreBackend: {
    code: 'TK395',
    name: 'GaloreBackend',
    title: 'GaLore runs on the torch backend only',
    message: () => "args.optimizer 'galore_adamw' projects gradients with galore-torch's optimizer in the torch worker; the tfjs backend has no GaLore optimizer",
    hint: "Set backend: 'torch' (with `pip install galore-torch` in its Python), or use args.optimizer 'adamw_torch'.",
  },
  GaloreNeedsFullRankMethod: {
    code: 'TK396',
    name: 'GaloreNeedsFullRankMethod',
    title: "GaLore projects the base's own weights",
    message: (kind: string) => `args.optimizer 'galore_adamw' projects the gradients of trained 2-D base weights, but method '${kind}' trains adapter tensors beside frozen weights (already small: nothing for GaLore to save)`,
    hint: "Use method: { kind: 'full' } (or 'freeze', 'llama-pro') with GaLore, or keep the adapter with args.optimizer 'adamw_torch'.",
  },
  GaloreOptionsUnused: {
    code: 'TK397',
    name: 'GaloreOptionsUnused',
    title: 'args.galore is set but GaLore is not the optimizer',
    message: (optimizer: string) => `args.galore sets GaLore's projection, but args.optimizer is '${optimizer}', so it would be ignored`,
    hint: "Set args.optimizer: 'galore_adamw', or remove args.galore.",
  },
  // TK384–TK391: PiSSA and LoftQ start values (lora.initLoraWeights, PEFT's init_lora_weights; issue 13).
  LoraInitConflict: {
    code: 'TK384',
    name: 'LoraInitConflict',
    title: 'Two start values for the adapter',
    message: (init: string, start: string) =>
      `lora.initLoraWeights ${show(init)} computes A and B from the base weights, but lora.init is ${show(start)}, which gives them other start values`,
    hint: "Leave lora.init at 'default' with PiSSA or LoftQ; a PiSSA adapter tunekit wrote is already a plain LoRA of the original base, so continue it with lora.init (its folder) and initLoraWeights: true.",
  },
  LoftqNeedsQuantize: {
    code: 'TK385',
    name: 'LoftqNeedsQuantize',
    title: 'LoftQ without a quantised base',
    message: () => "lora.initLoraWeights 'loftq' fits A and B to the quantisation error of each weight, but model.quantize is not set, so there is no quantisation error to fit",
    hint: "Set model.quantize (e.g. { bits: 4, type: 'nf4' }), or use initLoraWeights: 'pissa' for a full-precision base.",
  },
  PissaWithQuantize: {
    code: 'TK386',
    name: 'PissaWithQuantize',
    title: 'PiSSA on a quantised base',
    message: (init: string) =>
      `lora.initLoraWeights ${show(init)} replaces each adapted weight by its residual after the top singular vectors, which needs the full-precision weights, but model.quantize is set (PEFT's pissa_init refuses quantised weights too)`,
    hint: "Use initLoraWeights: 'loftq' with model.quantize (LoftQ is the quantisation-aware form), or remove model.quantize to train PiSSA.",
  },
  LoftqConfigWithoutLoftq: {
    code: 'TK387',
    name: 'LoftqConfigWithoutLoftq',
    title: "lora.loftqConfig without initLoraWeights: 'loftq'",
    message: (init: unknown) => `lora.loftqConfig configures LoftQ's quantiser, but lora.initLoraWeights is ${show(init)}, so it would be ignored`,
    hint: "Set lora.initLoraWeights: 'loftq' (with model.quantize), or remove lora.loftqConfig.",
  },
  LoraInitWithDora: {
    code: 'TK388',
    name: 'LoraInitWithDora',
    title: 'PiSSA or LoftQ with DoRA',
    message: (init: string) => `lora.initLoraWeights ${show(init)} with lora.useDora: tunekit does not convert a DoRA adapter started from singular vectors into a plain adapter of the original base`,
    hint: 'Choose one: remove lora.useDora, or set initLoraWeights: true.',
  },
  LoftqUnavailable: {
    code: 'TK389',
    name: 'LoftqUnavailable',
    title: 'LoftQ on the torch backend needs bitsandbytes on CUDA',
    message: (why: string) =>
      `lora.initLoraWeights 'loftq' on the torch backend runs PEFT's loftq_init, which quantises each adapted weight with bitsandbytes on a CUDA (or XPU) device (compute_device = "cuda" in peft/utils/loftq_utils.py), and this worker cannot (${why})`,
    hint: "Run it where the worker's Python (TUNEKIT_PYTHON) has bitsandbytes (`pip install bitsandbytes`) and a CUDA GPU, or set backend: 'tfjs', whose LoftQ runs on the CPU and gives the same start (its NF4 and int8 are bitsandbytes' bit for bit).",
  },
  WarmStartUnconverted: {
    code: 'TK390',
    name: 'WarmStartUnconverted',
    title: 'A warm-start adapter trained against a residual base',
    message: (folder: string, start: string) =>
      `${show(folder)} has init_lora_weights ${show(start)}: its A and B were trained against the base PEFT rewrote at the start (W minus the adapter's start), not against the model's own weights, so continuing it on those weights would start from another model`,
    hint: "Convert it in PEFT first: save it with peft_model.save_pretrained(out, path_initial_model_for_weight_conversion=<the adapter saved before training>), which writes a plain LoRA of the original base; adapters tunekit writes for PiSSA are converted already.",
  },
  // TK380: LoftQ's artifact (issue 13).
  WarmStartLoftq: {
    code: 'TK380',
    name: 'WarmStartLoftq',
    title: 'A warm-start adapter trained against a LoftQ base',
    message: (folder: string) =>
      `${show(folder)} holds loftq_base.safetensors: it is a LoftQ adapter, trained against the replaced base it keeps there (each adapted weight quantised with its residual), not against the model's own weights, so continuing it on those weights would start from another model`,
    hint: 'Merge it first (`tunekit merge`, which folds it into the replaced base) and train a new adapter on the merged model, or start a new LoftQ run (lora.initLoraWeights: \'loftq\') on the original model.',
  },
  // TK312–TK339: hostile data inputs (files, encodings, shapes) named before compute is spent.
  DataSymlinkLoop: {
    code: 'TK312',
    name: 'DataSymlinkLoop',
    title: 'A symbolic link in the data loops',
    message: (link: string, target: string) => `${show(link)} is a symbolic link that loops back (${target}), so the data folder has no end`,
    hint: 'Remove the link, or point it at a folder outside the data folder; tunekit follows links inside data folders.',
  },
  DataFileUnreadable: {
    code: 'TK313',
    name: 'DataFileUnreadable',
    title: 'A data file cannot be read',
    message: (path: string, reason: string) => `${show(path)} cannot be read: ${reason}`,
    hint: (path: string) => `Give this user read permission (chmod a+r ${JSON.stringify(path)}, and a+rx on its folders), or run as a user who may read it.`,
  },
  InvalidUtf8: {
    code: 'TK314',
    name: 'InvalidUtf8',
    title: 'A data file is not UTF-8',
    message: (file: string, offset: number, line: number, bytes: string) =>
      `${show(file)} is not valid UTF-8: byte offset ${offset} (line ${line}) holds ${bytes}, which no UTF-8 text contains`,
    hint: 'Save the file as UTF-8 (from Latin-1: iconv -f latin1 -t utf-8 in.jsonl > out.jsonl); tunekit never guesses an encoding, so text is never silently replaced by U+FFFD.',
  },
  MalformedDataFile: {
    code: 'TK315',
    name: 'MalformedDataFile',
    title: 'A data file cannot be parsed',
    message: (file: string, where: string, reason: string) => `${show(file)}${where ? ` ${where}` : ''}: ${reason}`,
    hint: 'A .json file holds one array of record objects (or { "data": [...] }); one object per line belongs in a .jsonl file. Fix the file (a truncated file needs to be written again).',
  },
  DatasetInfoFileOutside: {
    code: 'TK316',
    name: 'DatasetInfoFileOutside',
    title: "dataset_info.json's file_name leaves its folder",
    message: (name: string, fileName: string, why: string) =>
      `entry ${show(name)} has file_name ${show(fileName)}, ${why}; file_name is read relative to the folder of dataset_info.json and must stay inside it`,
    hint: 'Move the data file into the folder of dataset_info.json (or a folder below it) and give file_name relative to it, as LLaMA-Factory does.',
  },
  DatasetInfoFileNotInSource: {
    code: 'TK317',
    name: 'DatasetInfoFileNotInSource',
    title: "dataset_info.json's file_name is not among the source's files",
    message: (name: string, file: string, read: readonly string[]) =>
      `entry ${show(name)} names the data file ${show(file)}, which data.source does not read (it reads ${read.length === 0 ? 'no file' : list(read.slice(0, 5)) + (read.length > 5 ? `, … (${read.length} files)` : '')})`,
    hint: "Point data.source at the folder of dataset_info.json (file('data')) or at that file; the entry then picks its own file.",
  },
  BadDatasetInfo: {
    code: 'TK318',
    name: 'BadDatasetInfo',
    title: 'A dataset_info.json entry cannot be used',
    message: (file: string, name: string, reason: string) => `${show(file)} entry ${show(name)}: ${reason}`,
    hint: 'Fix the entry: tunekit reads formatting ("alpaca" | "sharegpt"), columns and tags (objects of strings), ranking (true | false) and file_name (a relative path), as in LLaMA-Factory\'s data/README.md.',
  },
  AllSamplesDropped: {
    code: 'TK319',
    name: 'AllSamplesDropped',
    title: 'Every sample is longer than maxLength',
    message: (dropped: number, maxLength: number, longest: string) =>
      `truncation 'drop' left out all ${dropped} sample(s): each is longer than data.maxLength ${maxLength} (the longest: ${longest})`,
    hint: (longest: number, exact: boolean) =>
      `Raise data.maxLength (${exact ? `${longest} keeps the longest` : `the longest needs at least ${longest}`}), or set data.truncation: 'truncate' (keeps the first maxLength tokens) or 'split'.`,
  },
  NoDataFiles: {
    code: 'TK320',
    name: 'NoDataFiles',
    title: 'The data folder holds no data file',
    message: (folder: string, others: readonly string[]) =>
      `the folder ${show(folder)} holds no data file${others.length === 0 ? ' (it is empty)' : ` (it holds ${list(others.slice(0, 5))}${others.length > 5 ? `, … (${others.length} entries)` : ''})`}; tunekit reads .json, .jsonl, .ndjson, .csv and .parquet files`,
    hint: "Put the data files in the folder, or point file('…') at the files themselves (file('x.txt', { type: 'jsonl' }) for another extension).",
  },
  NoRecords: {
    code: 'TK321',
    name: 'NoRecords',
    title: 'The data files hold no record',
    message: (files: readonly string[]) => `${files.length === 1 ? show(files[0]) : `the ${files.length} data files (${list(files.slice(0, 5))})`} hold${files.length === 1 ? 's' : ''} no record (empty, or blank lines and a header only)`,
    hint: 'Check that data.source points at the files you meant and that they were written completely.',
  },
  UnknownDataFileType: {
    code: 'TK322',
    name: 'UnknownDataFileType',
    title: 'The type of a data file is unknown',
    message: (path: string) => `cannot tell the type of ${show(path)} from its name; tunekit reads .json, .jsonl, .ndjson, .csv, .parquet and .txt (plain text, one document per line)`,
    hint: "Rename the file, or give its type: file('data.dat', { type: 'jsonl' }).",
  },
  BrokenDataLink: {
    code: 'TK323',
    name: 'BrokenDataLink',
    title: 'A symbolic link in the data points nowhere',
    message: (link: string, target: string) => `${show(link)} is a symbolic link to ${show(target)}, which does not exist`,
    hint: 'Fix or remove the link.',
  },
  // ── runtime ──────────────────────────────────────────────────────────────────────────────
  NonFiniteLoss: {
    code: 'TK401',
    name: 'NonFiniteLoss',
    title: 'Loss became non-finite',
    message: (step: number, loss: number) => `the loss at step ${step} is ${loss}; a checkpoint was written before stopping`,
    hint: 'Lower args.learningRate, keep args.maxGradNorm set, or check the data for empty samples.',
  },
  BackendUnavailable: {
    code: 'TK402',
    name: 'BackendUnavailable',
    title: 'Backend not available',
    message: (backend: string, reason: string) => `the ${backend} backend cannot run here: ${reason}`,
    hint: (fix: string) => fix,
  },
  WorkerFailed: {
    code: 'TK403',
    name: 'WorkerFailed',
    title: 'The backend worker failed',
    message: (reason: string, tail: string) => `${reason}${tail ? `\n--- last lines of the worker log ---\n${tail}` : ''}`,
    hint: 'This is likely a bug in tunekit or an environment mismatch; the log above names the cause.',
  },
  Interrupted: {
    code: 'TK404',
    name: 'Interrupted',
    title: 'Interrupted',
    message: (node: string) => `the run was interrupted during ${node}; progress was checkpointed`,
    hint: 'Run the same command again to resume where it stopped.',
  },
  NodeFailed: {
    code: 'TK405',
    name: 'NodeFailed',
    title: 'A graph node failed',
    message: (node: string, reason: string) => `${node}: ${reason}`,
    hint: 'Fix the cause above and run again; finished nodes are cached and will not re-run.',
  },
  RecipeLoad: {
    code: 'TK406',
    name: 'RecipeLoad',
    title: 'The recipe file cannot be loaded',
    message: (file: string, reason: string) => `${file}: ${reason}`,
    hint: 'A recipe file exports `recipe` (or a default export) made with defineRecipe; JSON and YAML recipes hold the same object.',
  },
  UnknownNode: {
    code: 'TK407',
    name: 'UnknownNode',
    title: 'No such graph node',
    message: (node: string, nodes: readonly string[]) => `${show(node)} is not a node of this graph; its nodes are ${nodes.join(', ')}`,
    hint: 'Use a node id that `tunekit graph` shows (--until, --only and --from take node ids).',
  },
  InputsNotCached: {
    code: 'TK408',
    name: 'InputsNotCached',
    title: 'The inputs of the node are not cached',
    message: (node: string, missing: readonly string[]) => `--only ${node} needs the artifacts of ${missing.join(', ')}, which are not in the cache`,
    hint: (node: string) => `Run them first (tunekit run --until ${node}), or drop --only.`,
  },
  NoExecutor: {
    code: 'TK409',
    name: 'NoExecutor',
    title: 'Nothing can run this node',
    message: (node: string, kind: string) => `no executor was given for ${show(node)} (kind ${show(kind)})`,
    hint: 'Pass the data executors of @tunekit/data and the executors of a backend to the runner.',
  },
  NoRecipeGiven: {
    code: 'TK410',
    name: 'NoRecipeGiven',
    title: 'No recipe given',
    message: (verb: string) => `\`tunekit ${verb}\` needs ${verb === 'chat' ? 'a model folder or a recipe' : 'a recipe'} and none was given`,
    hint: (verb: string) =>
      verb === 'chat'
        ? 'Pass the model folder, `tunekit chat runs/tiny-chat/merged`, or the recipe whose merged model to load, `tunekit chat --recipe recipes/tiny-chat.ts`.'
        : `Pass a recipe file (.ts, .json or .yaml): \`tunekit ${verb} recipes/tiny-chat.ts\`, or run the recipe file itself: \`npx tsx recipes/tiny-chat.ts ${verb}\`.`,
  },
  TargetExists: {
    code: 'TK411',
    name: 'TargetExists',
    title: 'Would overwrite existing files',
    message: (path: string, what: string) => `${show(path)} ${what}`,
    hint: 'Pick another path (`tunekit init <file or folder>`), or pass --force to overwrite it.',
  },
  FamilyNeeded: {
    code: 'TK412',
    name: 'FamilyNeeded',
    title: 'Model family needed',
    message: (model: string) => `${show(model)} is not a checkpoint tunekit knows, so its family cannot be inferred`,
    hint: (model: string, families: readonly string[]) => `Pass --family (${families.join(', ')}): \`tunekit init --model ${model} --family ${families[0]}\`; for an architecture none of these is, write the recipe with model.family: 'auto', backend: 'torch' and lora.targetModules.`,
  },
  RecipeFileNotFound: {
    code: 'TK413',
    name: 'RecipeFileNotFound',
    title: 'Recipe file not found',
    message: (file: string) => `${show(file)} does not exist`,
    hint: 'Check the path (it is read from where you run the command); `tunekit init <file.ts>` writes a new recipe.',
  },
  NotARecipeFile: {
    code: 'TK414',
    name: 'NotARecipeFile',
    title: 'Not a recipe file',
    message: (file: string, extensions: readonly string[]) => `${show(file)} is not a recipe file (a recipe ends in ${extensions.join(', ')})`,
    hint: "Pass the recipe file; a data file goes in the recipe's data.source, or in --data-path.",
  },
  NotAModelFolder: {
    code: 'TK415',
    name: 'NotAModelFolder',
    title: 'Not a model folder',
    message: (folder: string) => `${show(folder)} holds no config.json, so it is not a Hugging Face model folder`,
    hint: 'Pass the merged model a run wrote (`tunekit chat runs/<name>/merged`), or a base model folder with `--adapter runs/<name>/adapter`.',
  },
  NotMergedYet: {
    code: 'TK416',
    name: 'NotMergedYet',
    title: 'No merged model yet',
    message: (recipe: string, folder: string) => `${show(recipe)} has no merged model yet (looked in ${folder})`,
    hint: (file: string) => `Run the recipe first (\`tunekit run ${file}\`, or \`tunekit merge ${file}\` after a run that stopped at train), or pass a model folder.`,
  },
  NoChatTemplate: {
    code: 'TK417',
    name: 'NoChatTemplate',
    title: 'No chat template',
    message: (folders: string) => `${folders}: no chat_template.jinja and no chat_template in tokenizer_config.json`,
    hint: 'Chat with a folder tunekit wrote (runs/<name>/merged, or a base model with --adapter runs/<name>/adapter), or a chat model whose tokenizer_config.json has a chat_template.',
  },
  // ── torch backend environment (TK42x) ───────────────────────────────────────────────────
  PythonMissing: {
    code: 'TK420',
    name: 'PythonMissing',
    title: 'No Python for the torch backend',
    message: (looked: readonly string[]) => `the torch backend needs Python 3.10+ with PyTorch; none was found (looked at ${looked.join(', ')})`,
    hint: 'Run `tunekit setup torch` to create a managed environment from the pinned lock, or set TUNEKIT_PYTHON to a Python that has the packages.',
  },
  PackageMismatch: {
    code: 'TK421',
    name: 'PackageMismatch',
    title: 'Python packages differ from the tested versions',
    message: (python: string, problems: readonly string[]) => `${python}: ${problems.join('; ')}`,
    hint: (fix: string) => `Run: ${fix}`,
  },
  CudaUnavailable: {
    code: 'TK422',
    name: 'CudaUnavailable',
    title: 'CUDA requested but absent',
    message: (detail: string) => detail,
    hint: "Run on a machine with an NVIDIA GPU and a CUDA build of torch, or set device: 'cpu' (or 'auto').",
  },
  // ── run conditions: plan, disk, run folder, locks (TK43x) ──────────────────────────────
  PlanDoesNotFit: {
    code: 'TK430',
    name: 'PlanDoesNotFit',
    title: 'The run does not fit this machine',
    message: (what: string, need: string, have: string, largest: string) => `the plan needs ${need} of ${what} and this machine has ${have} (the largest part: ${largest}), so the run would fail part-way`,
    hint: (fix: string) => `${fix} To run anyway, pass --force.`,
  },
  DiskWontFit: {
    code: 'TK431',
    name: 'DiskWontFit',
    title: 'Not enough disk for the artifacts',
    message: (folder: string, need: string, free: string, parts: string) => `the run writes about ${need} under ${show(folder)} (${parts}) and only ${free} is free there`,
    hint: 'Free some disk, point output.cacheDir at a larger disk, lower args.keepCheckpoints, or pass --force to run anyway.',
  },
  DiskFull: {
    code: 'TK432',
    name: 'DiskFull',
    title: 'The disk filled up',
    message: (node: string, folder: string, need: string) => `${node} could not write under ${show(folder)}: no space left on the device (the run needs about ${need} there)`,
    hint: 'Free some disk (or point output.cacheDir at a larger disk) and run the same command again: finished nodes are cached and training resumes from its last checkpoint.',
  },
  FolderUnusable: {
    code: 'TK433',
    name: 'FolderUnusable',
    title: 'A folder of the run cannot be written',
    message: (folder: string, reason: string) => `${show(folder)} cannot hold the run's files: ${reason}`,
    hint: (key: string) => `Set ${key} to a folder you can write on a real disk (not /proc, /sys or a read-only mount).`,
  },
  RunLocked: {
    code: 'TK434',
    name: 'RunLocked',
    title: 'Another run holds the lock',
    message: (what: string, holder: string) => `${what} is in use by ${holder}`,
    hint: 'Wait for that run to finish (run again without --no-wait to wait for it), or use another output.dir; a lock of a process that is gone is taken over by itself.',
  },
  CacheEntryCorrupt: {
    code: 'TK435',
    name: 'CacheEntryCorrupt',
    title: 'A cache entry is not a folder',
    message: (path: string) => `${show(path)} should be an artifact folder and is a file`,
    hint: 'Something other than tunekit wrote into the cache: delete that path (or the whole output.cacheDir) and run again.',
  },
  // ── preference stages (TK44x) ────────────────────────────────────────────────────────────
  NoPreferencePairs: {
    code: 'TK440',
    name: 'NoPreferencePairs',
    title: 'A preference stage found no preference pairs',
    message: (stage: string) => `stage ${show(stage)} trains on pairs of a chosen and a rejected answer, but the tokenized data holds none (KTO's unpaired examples and plain conversations are not pairs)`,
    hint: "Give records with chosen and rejected answers (TRL's { prompt, chosen, rejected }, LLaMA-Factory's ranking: true, openai messages with chosen and rejected final turns; docs/data-formats.md), or train with stage { kind: 'sft' }.",
  },
  EvalWithPreferenceStage: {
    code: 'TK441',
    name: 'EvalWithPreferenceStage',
    title: 'The eval group with a preference stage',
    message: (stage: string) => `eval scores the assistant turns of held-out conversations, and stage ${show(stage)} holds out no conversations: it trains on every preference pair`,
    hint: "Remove the eval group from this recipe, or score the model in an sft recipe's eval group.",
  },
  // ── the kto stage (TK470–TK479) ─────────────────────────────────────────────────────────
  KtoShuffle: {
    code: 'TK470',
    name: 'KtoShuffle',
    title: "KTO's KL term with shuffled batches",
    message: () => "stage kto estimates its KL term from each batch's examples paired with their neighbours' completions, fixed in record order before training (as TRL's KTOTrainer fixes them), and args.shuffle reorders the batches every epoch, so the KL pairs would no longer come from the batch they are used in",
    hint: "Set args.shuffle: false (TRL's KTOConfig defaults to train_sampling_strategy 'sequential' for this reason; shuffle the data file once beforehand if it is sorted), or use stage.lossType: 'apo_zero_unpaired', which has no KL term.",
  },
  KtoBatchSizeOne: {
    code: 'TK471',
    name: 'KtoBatchSizeOne',
    title: "KTO's KL term with one example per batch",
    message: (batchSize: number) => `stage kto pairs each example with another example's completion of its batch to estimate the KL term, and args.batchSize ${batchSize} leaves none: the KL estimate would be the example's own reward`,
    hint: "Set args.batchSize to 2 or more (the micro-batch, not the effective batch: TRL's KTOTrainer requires the same), or use stage.lossType: 'apo_zero_unpaired'.",
  },
  KtoWeightsUnbalanced: {
    code: 'TK472',
    name: 'KtoWeightsUnbalanced',
    title: 'Desirable and undesirable examples are unbalanced for their weights',
    message: (desirable: number, undesirable: number, desirableRange: readonly [number, number], undesirableRange: readonly [number, number]) =>
      `the data holds ${desirable} desirable and ${undesirable} undesirable examples; with these counts KTO's paper (Eq. 8) suggests stage.desirableWeight in [${desirableRange.join(', ')}] or stage.undesirableWeight in [${undesirableRange.join(', ')}], and neither weight is in its range`,
    hint: 'Set one of stage.desirableWeight or stage.undesirableWeight (not both) in the range above, so that the two kinds of examples weigh about equally (TRL\'s KTOTrainer gives the same advice).',
  },
  NoKtoExamples: {
    code: 'TK473',
    name: 'NoKtoExamples',
    title: 'The kto stage found no examples',
    message: () => 'stage kto trains on examples of a prompt and a completion labelled desirable or not (or on preference pairs, unpaired), but the tokenized data holds neither',
    hint: "Give records with a completion and a true/false label (TRL's { prompt, completion, label }, LLaMA-Factory's kto_tag; docs/data-formats.md) or preference pairs, or train with stage { kind: 'sft' }.",
  },
  // ── recipe chains: init.recipe (TK48x) ─────────────────────────────────────────────────────
  ChainCycle: {
    code: 'TK480',
    name: 'ChainCycle',
    title: 'A recipe chain names the same recipe twice',
    message: (name: string, chain: readonly string[]) => `recipe ${show(name)} starts from itself: its chain is ${chain.map(show).join(' → ')}, and a chained recipe's nodes are named after it, so every recipe in a chain needs its own name`,
    hint: 'Give each recipe of the chain its own name, and let no recipe start from one that starts from it.',
  },
  ChainFamilyMismatch: {
    code: 'TK481',
    name: 'ChainFamilyMismatch',
    title: 'The chained recipe trains another model family',
    message: (given: string, name: string, chained: string) => `model.family is ${show(given)}, but the recipe it starts from (${show(name)}) trains a ${show(chained)} model, whose merged weights this one trains`,
    hint: (chained: string) => `Leave model.family out (init.recipe gives it), or set it to ${show(chained)}.`,
  },
  ChainTokenizerMismatch: {
    code: 'TK482',
    name: 'ChainTokenizerMismatch',
    title: "The chained recipe's tokens differ",
    message: (key: string, given: unknown, name: string, chained: unknown) => `${key} is ${show(given)}, but the recipe it starts from (${show(name)}) has ${show(chained)}: its merged model's tokenizer and embeddings are built for those tokens`,
    hint: (key: string, chained: unknown) => `Leave ${key.split('.')[0]} out (init.recipe gives it), or set ${key}: ${show(chained)}.`,
  },
  ChainNotModel: {
    code: 'TK483',
    name: 'ChainNotModel',
    title: "The chained recipe's output is not a causal language model",
    message: (name: string, stage: string) => `init.recipe ${show(name)} has stage ${show(stage)}, whose output is not a causal language model to go on training (a reward model scores, an extractive-QA encoder finds spans)`,
    hint: "Start from a recipe whose stage trains a causal LM (sft, pretrain, dpo), or train from the base model (leave init out and give model).",
  },
  ChainIntoStage: {
    code: 'TK484',
    name: 'ChainIntoStage',
    title: 'This stage cannot start from another recipe',
    message: (stage: string) => `stage ${show(stage)} trains an encoder from its base weights, and init.recipe hands on a merged causal language model`,
    hint: 'Leave init out and give model.',
  },
  NotARecipe: {
    code: 'TK485',
    name: 'NotARecipe',
    title: 'init.recipe is not a recipe',
    message: (got: string) => `init.recipe should be a recipe (what defineRecipe returns, or the recipe as an object), got ${got}`,
    hint: "Import the recipe and name it: import { recipe as sft } from './sft.ts'; … init: { recipe: sft }.",
  },
  EvalSplitWithPreferenceStage: {
    code: 'TK486',
    name: 'EvalSplitWithPreferenceStage',
    title: "A preference stage with the source's own eval split",
    message: (stage: string, split: string) => `data.split.evalSplit ${show(split)} names the Hub dataset's own eval split, but stage ${show(stage)} holds out pairs of its training records only (the pair-split node): that split would be ignored`,
    hint: 'Remove data.split.evalSplit and hold out a share or a count of the pairs with data.split.eval.',
  },
  // ── the reward model stage, rm (TK46x) ───────────────────────────────────────────────────
  RewardMethodUnsupported: {
    code: 'TK460',
    name: 'RewardMethodUnsupported',
    title: 'The rm stage trains with LoRA',
    message: (method: string) => `stage 'rm' trains LoRA adapters with the reward head score saved beside them (PEFT's SEQ_CLS), not method ${show(method)}`,
    hint: "Use LoRA (the default method); full fine-tuning and freeze of a reward model are not built yet.",
  },
  RewardModelOutputUnsupported: {
    code: 'TK461',
    name: 'RewardModelOutputUnsupported',
    title: 'A reward model generates no text and exports no GGUF',
    message: (key: string) => `${key} needs a causal LM (it generates text or exports for llama.cpp), and stage 'rm' trains a reward model (a sequence classifier with one score)`,
    hint: (key: string) => `Remove ${key}; score pairs with rewardAccuracy from tunekit (the backends' rewards request), or load the merged folder with AutoModelForSequenceClassification.`,
  },
  // ── generation metrics, @tunekit/eval (TK60x) ─────────────────────────────────────────────
  MetricInputMismatch: {
    code: 'TK600',
    name: 'MetricInputMismatch',
    title: 'Predictions and references differ in number',
    message: (metric: string, predictions: number, references: number) =>
      `${metric} got ${predictions} prediction${predictions === 1 ? '' : 's'} and ${references} reference entr${references === 1 ? 'y' : 'ies'}; prediction i is scored against reference entry i`,
    hint: 'Pass one reference entry per prediction, in the same order (an entry is a list of strings where the metric takes several references).',
  },
  NoReference: {
    code: 'TK601',
    name: 'NoReference',
    title: 'A prediction has no reference',
    message: (metric: string, index: number) => `${metric}: the references of prediction ${index} are an empty list, so it cannot be scored`,
    hint: (metric: string) =>
      metric === 'squad-v1'
        ? 'Give every SQuAD v1.1 question at least one gold answer, or score with squad-v2, where no gold answer means the question is unanswerable.'
        : 'Give at least one reference string per prediction, or leave the example out of the evaluation set.',
  },
  UnknownMetric: {
    code: 'TK602',
    name: 'UnknownMetric',
    title: 'Unknown generation metric',
    message: (kind: string, allowed: readonly string[]) => {
      const guess = closest(kind, allowed)
      return `${show(kind)} is not a generation metric${guess ? ` (did you mean ${show(guess)}?)` : ''}; the metrics are ${allowed.join(', ')}`
    },
    hint: 'Use one of the metric names listed.',
  },
  InvalidToolTurn: {
    code: 'TK603',
    name: 'InvalidToolTurn',
    title: 'A reference turn is neither text nor tool calls',
    message: (detail: string) => detail,
    hint: 'Write each reference turn as { text: "..." } or { calls: [{ name: "get_weather", arguments: { city: "Paris" } }] }; arguments is a JSON object (use {} for none).',
  },
  UnknownMetricOption: {
    code: 'TK604',
    name: 'UnknownMetricOption',
    title: 'Metric option not supported',
    message: (option: string, value: unknown, allowed: readonly unknown[]) => `${option} ${show(value)} is not supported; supported: ${list(allowed)}`,
    hint: 'Use one of the supported values.',
  },
  // ── GGUF export and llama.cpp (TK62x) ─────────────────────────────────────────────────
  GgufFamilyUnsupported: {
    code: 'TK620',
    name: 'GgufFamilyUnsupported',
    title: 'This model family has no GGUF export',
    message: (family: string, supported: readonly string[]) => `GGUF export knows the tensor names and hyperparameters of ${list(supported)}; this model is ${show(family)}`,
    hint: "Export a llama, mistral or qwen2 model, or convert this one with llama.cpp's convert_hf_to_gguf.py.",
  },
  GgufTypeUnknown: {
    code: 'TK621',
    name: 'GgufTypeUnknown',
    title: 'Unknown GGUF tensor type',
    message: (type: string, allowed: readonly string[]) => `${show(type)} is not a GGUF export type; allowed: ${list(allowed)}`,
    hint: "Use 'F16' (half the size of F32, no loss that greedy decoding notices), 'Q8_0' (about a quarter) or 'Q4_0' (about an eighth, with some loss).",
  },
  GgufTokenizerUnsupported: {
    code: 'TK622',
    name: 'GgufTokenizerUnsupported',
    title: 'The tokenizer has no llama.cpp form',
    message: (file: string, what: string) => `${show(file)} is ${what}; GGUF export writes SentencePiece BPE with byte fallback (llama, mistral) or a byte-level BPE whose pre-tokenizer llama.cpp knows (qwen2, llama-bpe, gpt-2)`,
    hint: "Export a model with its original tokenizer.json, or convert it with llama.cpp's convert_hf_to_gguf.py, which knows more tokenizers.",
  },
  GgufVocabTooLarge: {
    code: 'TK623',
    name: 'GgufVocabTooLarge',
    title: 'The tokenizer has more tokens than the embedding has rows',
    message: (tokens: number, rows: number) => `the tokenizer has ${tokens} tokens but the model's embedding (vocab_size) has ${rows} rows`,
    hint: 'Export the merged model tunekit wrote with its own tokenizer/ files: training grows the embedding for every added token.',
  },
  GgufTensorMissing: {
    code: 'TK624',
    name: 'GgufTensorMissing',
    title: 'A weight the GGUF file needs is missing',
    message: (folder: string, tensor: string) => `${show(folder)} has no tensor ${show(tensor)}`,
    hint: 'Export a merged model (runs/<name>/merged), not a base model plus adapter or a partial folder.',
  },
  NotAGgufFile: {
    code: 'TK625',
    name: 'NotAGgufFile',
    title: 'Not a GGUF file',
    message: (file: string, why: string) => `${show(file)} ${why}`,
    hint: "Pass a .gguf file written by exportGguf (@tunekit/hf) or by llama.cpp's convert_hf_to_gguf.py.",
  },
  LlamaCppUnavailable: {
    code: 'TK626',
    name: 'LlamaCppUnavailable',
    title: 'node-llama-cpp is not available',
    message: (detail: string) => `chatting with a GGUF file runs llama.cpp through node-llama-cpp, which could not be loaded (${detail})`,
    hint: 'Install it beside tunekit: `npm i -E node-llama-cpp@3.21.1` (its prebuilt llama.cpp binaries come from npm).',
  },
  // ── the export node and `tunekit export` (TK64x) ───────────────────────────────────────
  GgufNeedsMerge: {
    code: 'TK640',
    name: 'GgufNeedsMerge',
    title: 'A GGUF export needs the merged model',
    message: (types: readonly string[]) => `output.gguf asks for ${list(types)}: GGUF files are written from the merged model, but output.merge is false`,
    hint: 'Set output.merge: true (the default) so the adapter is folded into the weights first, or remove output.gguf.',
  },
  ExportSourceNotFound: {
    code: 'TK641',
    name: 'ExportSourceNotFound',
    title: 'Nothing to export there',
    message: (path: string) => `${show(path)} does not exist`,
    hint: 'Pass a recipe file (tunekit export recipe.ts --type q8_0) or a merged model folder (tunekit export runs/<name>/merged --type q8_0).',
  },
  ExportFolderNotAModel: {
    code: 'TK642',
    name: 'ExportFolderNotAModel',
    title: 'The folder is not a Hugging Face model',
    message: (folder: string) => `${show(folder)} has no config.json, so it is not a Hugging Face model folder`,
    hint: 'Pass the merged model of a run (runs/<name>/merged, written when output.merge is on), or a recipe file to run up to its export.',
  },
  ExportOutNeedsOneType: {
    code: 'TK643',
    name: 'ExportOutNeedsOneType',
    title: '--out names one file, the recipe exports several',
    message: (types: readonly string[]) => `--out is one file, but the recipe's output.gguf lists ${list(types)}`,
    hint: 'Add --type to pick the one --out gets (e.g. --type q8_0), or leave --out off: every file is linked into the run folder (runs/<name>/gguf/).',
  },
  // ── several processes: the distributed group, torchrun (TK650–TK659) ───────────────────
  DistributedNeedsTorch: {
    code: 'TK650',
    name: 'DistributedNeedsTorch',
    title: 'Several processes train on the torch backend only',
    message: (backend: string) => `the recipe has a distributed group, which launches the torch worker under torchrun, but backend is ${show(backend)}${backend === 'auto' ? ' (which may choose tfjs)' : ''}`,
    hint: "Set backend: 'torch', or remove the distributed group to train in one process.",
  },
  DistributedAccumulation: {
    code: 'TK651',
    name: 'DistributedAccumulation',
    title: "The processes cannot share a step's micro-batches evenly",
    message: (world: number, accumulation: number) =>
      `distributed runs ${world} process(es) (nprocPerNode × nnodes), but an optimiser step has ${accumulation} micro-batch(es) (args.gradientAccumulationSteps): each process takes an equal share of every step's micro-batches, so the global batch stays batchSize × gradientAccumulationSteps`,
    hint: (world: number, batchSize: number, accumulation: number) =>
      `Set args.gradientAccumulationSteps to a multiple of ${world} (e.g. ${world * Math.max(1, Math.round(accumulation / world))}, with args.batchSize ${batchSize} that is ${batchSize * world * Math.max(1, Math.round(accumulation / world))} samples a step), or run ${accumulation} process(es) or a divisor of it.`,
  },
  DistributedNodeRank: {
    code: 'TK652',
    name: 'DistributedNodeRank',
    title: "The machine's node rank is not below nnodes",
    message: (nodeRank: number, nnodes: number) => `distributed.nodeRank is ${nodeRank}, but with nnodes ${nnodes} the machines are numbered 0 to ${nnodes - 1}`,
    hint: 'Give each machine its own --node-rank from 0 to nnodes − 1 (machine 0 is at masterAddr), or raise distributed.nnodes.',
  },
  DistributedStage: {
    code: 'TK653',
    name: 'DistributedStage',
    title: 'Several processes train the sft and pretrain stages only',
    message: (stage: string) => `stage '${stage}' trains in one process: the torchrun loop deals the batch plan's micro-batches, which the sft and pretrain stages train on`,
    hint: "Remove the distributed group for this stage, or train stage 'sft' or 'pretrain' with it.",
  },
  DistributedFsdpQuantized: {
    code: 'TK654',
    name: 'DistributedFsdpQuantized',
    title: 'FSDP does not shard 4-bit weights here',
    message: () => "distributed.strategy 'fsdp' shards the base weights, but model.quantize packs them as bitsandbytes 4/8-bit tensors, which the worker's fully_shard does not split",
    hint: "Use distributed.strategy: 'ddp' for QLoRA (each process holds the 4-bit base; only the adapter's gradients are summed), or drop model.quantize.",
  },
  DistributedFollowerDone: {
    code: 'TK655',
    name: 'DistributedFollowerDone',
    title: 'This machine trained its share; machine 0 holds the results',
    message: (nodeRank: number, nnodes: number) =>
      `node rank ${nodeRank} of ${nnodes} finished its processes' share of training; only machine 0 (node rank 0) writes the events, checkpoints and trained artifact, so this machine has nothing to merge, evaluate or export`,
    hint: 'Look at the run folder on machine 0 (node rank 0): it goes on with merge, eval and export.',
  },
  // ── the torch backend's speed options: padding-free, chunked loss, torch.compile (TK656–TK669) ──
  TorchSpeedNeedsTorch: {
    code: 'TK656',
    name: 'TorchSpeedNeedsTorch',
    title: 'This speed option belongs to the torch backend',
    message: (option: string, backend: string) =>
      `args.${option} changes how the torch worker lays out batches, computes the loss or compiles the model, but backend is ${show(backend)}${backend === 'auto' ? ' (which may choose tfjs)' : ''}`,
    hint: (option: string) => `Set backend: 'torch', or remove args.${option} (the tfjs backend trains without it).`,
  },
  TorchSpeedStage: {
    code: 'TK657',
    name: 'TorchSpeedStage',
    title: 'The speed options apply to the sft and pretrain stages only',
    message: (option: string, stage: string) =>
      `args.${option} is an option of the sft / pretrain training loop, which follows the batch plan's micro-batches; stage '${stage}' computes its loss in its own loop`,
    hint: (option: string) => `Remove args.${option} for this stage, or train stage 'sft' or 'pretrain' with it.`,
  },
  PaddingFreeVirtualTokens: {
    code: 'TK658',
    name: 'PaddingFreeVirtualTokens',
    title: "Padding-free rows cannot carry a method's virtual tokens",
    message: (tokens: number) =>
      `args.paddingFree lays a micro-batch's samples end to end in one row, but the method puts its ${tokens} virtual token(s) before each row, so only the first sample of the row would see them`,
    hint: 'Remove args.paddingFree for this method (its micro-batches stay padded), or train a method without virtual tokens (LoRA, IA³, full, freeze).',
  },
  TorchCompileUnavailable: {
    code: 'TK659',
    name: 'TorchCompileUnavailable',
    title: 'torch.compile could not compile the model here',
    message: (reason: string) => `args.torchCompile: ${reason}`,
    hint: 'Install what inductor needs (a C++ compiler such as g++ on CPU; Triton, shipped with CUDA builds of torch, on a GPU), or remove args.torchCompile to train uncompiled.',
  },
  // ── the plan's verdicts on speed and memory (TK667–TK669) ──────────────────────────────────
  WasmMemoryLimit: {
    code: 'TK667',
    name: 'WasmMemoryLimit',
    title: "The tfjs job will not fit in WebAssembly's 4 GiB",
    message: (peak: string) => `the plan puts the training process's peak at ${peak}, and tfjs-backend-wasm's memory is a 32-bit WebAssembly heap that cannot grow past 4 GiB, so the run would stop with an out-of-memory error part-way`,
    hint: "Lower args.batchSize or data.maxLength, train fewer modules (lora.modulesToSave), or run it on the torch backend (backend: 'torch').",
  },
  // ── Generation metrics in the recipe: the eval group and its score nodes (TK70x) ─────────
  EvalNeedsHeldOut: {
    code: 'TK700',
    name: 'EvalNeedsHeldOut',
    title: 'The eval group has no held-out conversations to answer',
    message: () => 'eval asks for generation metrics on the held-out conversations, but data.split.eval is 0 and there is no evalSplit, so nothing is held out',
    hint: 'Hold some conversations out with data.split.eval (a share like 0.05 or a count like 50), or remove the eval group.',
  },
  EvalNeedsConversations: {
    code: 'TK701',
    name: 'EvalNeedsConversations',
    title: 'The eval group needs conversations',
    message: (stage: string) => `eval scores the assistant turns of held-out conversations, but stage ${show(stage)} trains on raw text documents, which have none`,
    hint: "Remove the eval group (the eval node still reports loss and perplexity), or train with stage { kind: 'sft' } on conversations.",
  },
  HeldOutUnmapped: {
    code: 'TK702',
    name: 'HeldOutUnmapped',
    title: 'The cached tokenize artifact does not say which conversation each sample came from',
    message: (dir: string) => `${show(dir)}/index.json has no stats.conversationIndices (it was written by an older tunekit), so the held-out samples cannot be traced back to their conversations`,
    hint: 'Re-run from the tokenize node so that it writes them: `tunekit run <recipe> --from tokenize`.',
  },
  NoHeldOutAnswer: {
    code: 'TK703',
    name: 'NoHeldOutAnswer',
    title: 'No held-out conversation has an assistant turn to score',
    message: (count: number) => `none of the ${count} held-out conversation(s) ends its prompt on a user or tool turn followed by an assistant turn`,
    hint: 'Hold out more conversations (data.split.eval), or check that the data has assistant turns after user turns.',
  },
  NoEvalGroup: {
    code: 'TK704',
    name: 'NoEvalGroup',
    title: 'The recipe has no eval group',
    message: (recipe: string) => `tunekit eval scores what the recipe's eval group asks for, and recipe ${show(recipe)} has none`,
    hint: "Add one, e.g. eval: { metrics: ['bleu4', 'rougeL'] } (and toolCalls for function calling); it needs held-out data (data.split.eval).",
  },
  // ── the grpo stage (TK490–TK499) ────────────────────────────────────────────────────────
  GrpoNoPrompts: {
    code: 'TK490',
    name: 'GrpoNoPrompts',
    title: 'No prompt to sample completions for',
    message: (skipped: number) => `stage grpo samples completions of each conversation's prompt (the turns before its last assistant turn), and the data gave none (${skipped} conversation(s) skipped)`,
    hint: "Give the stage conversations (data.format 'openai', 'sharegpt', 'alpaca', …) with at least one user turn each.",
  },
  GrpoGenerationsNotDividing: {
    code: 'TK491',
    name: 'GrpoGenerationsNotDividing',
    title: 'The step does not hold whole groups of completions',
    message: (completions: number, generations: number) => `a step trains on args.batchSize × args.gradientAccumulationSteps = ${completions} completions, which is not a multiple of stage.numGenerations ${generations}: the last prompt's group would be cut`,
    hint: (suggested: number) => `Make args.batchSize × args.gradientAccumulationSteps a multiple of stage.numGenerations (TRL's GRPOTrainer requires the same), e.g. args.batchSize: ${suggested}.`,
  },
  GrpoRewardWeights: {
    code: 'TK492',
    name: 'GrpoRewardWeights',
    title: 'One reward weight per reward function',
    message: (weights: number, rewards: number) => `stage.rewardWeights has ${weights} weight(s) and stage.rewards ${rewards} function(s)`,
    hint: 'Give one weight per reward function, in the same order, or leave rewardWeights out (every weight 1).',
  },
  GrpoRewardNotNumber: {
    code: 'TK493',
    name: 'GrpoRewardNotNumber',
    title: 'A reward function did not return a finite number',
    message: (index: number, got: string, completion: string, name = '', example = '') => `stage.rewards[${index}]${name ? ` (${name})` : ''} returned ${got} for the completion ${show(completion)}${example ? ` of example ${show(example)}` : ''}`,
    hint: 'Return a finite number from every reward function (0 for a completion that earns nothing); a Promise must resolve to one.',
  },
  GrpoRewardThrew: {
    code: 'TK494',
    name: 'GrpoRewardThrew',
    title: 'A reward function threw',
    message: (index: number, reason: string, completion: string, name = '', example = '') => `stage.rewards[${index}]${name ? ` (${name})` : ''} threw "${reason}" for the completion ${show(completion)}${example ? ` of example ${show(example)}` : ''}`,
    hint: 'Make the reward function total: a completion the policy samples can be any text (empty, cut at maxCompletionLength, in another format); return a low reward instead of throwing.',
  },
  // ── the ppo stage (TK500–TK519) ─────────────────────────────────────────────────────────
  PpoRewardModelNotArtifact: {
    code: 'TK500',
    name: 'PpoRewardModelNotArtifact',
    title: 'stage.rewardModel is not an rm train artifact',
    message: (folder: string, missing: string) => `stage.rewardModel names the folder ${show(folder)}, which has no ${missing}: the ppo stage reads a reward model from an rm stage's train artifact (a LoRA adapter with the score head saved)`,
    hint: "Give the rm recipe itself (stage: { kind: 'ppo', rewardModel: rmRecipe }), or the train folder of an rm run (runs/<name>/train).",
  },
  PpoRewardModelNotRm: {
    code: 'TK501',
    name: 'PpoRewardModelNotRm',
    title: 'stage.rewardModel is not a reward-model recipe',
    message: (name: string, kind: string) => `stage.rewardModel is recipe ${show(name)}, whose stage is ${show(kind)}: a reward model comes from stage rm (a scalar score head)`,
    hint: "Give a recipe with stage: { kind: 'rm' } trained on preference pairs (recipes/opposites-rm.ts).",
  },
  PpoRewardModelBase: {
    code: 'TK502',
    name: 'PpoRewardModelBase',
    title: 'The reward model is not on the policy\'s base model',
    message: (name: string, theirs: string, ours: string) => `the reward model ${show(name)} trains on ${theirs} and this recipe's policy on ${ours}: its adapter sits on the policy's base (one copy in memory), so both must start from the same model`,
    hint: 'Chain both from the same recipe (init: { recipe: sftRecipe } in the rm and the ppo recipe), as LLaMA-Factory trains sft → rm → ppo.',
  },
  PpoRolloutTooSmall: {
    code: 'TK503',
    name: 'PpoRolloutTooSmall',
    title: 'A mini-batch of one completion',
    message: (tokens: number) => `a rollout of args.batchSize × args.gradientAccumulationSteps × stage.numMiniBatches = ${tokens} completion(s) is too few: the advantages are whitened over the rollout's tokens, and TRL's PPOTrainer needs more than one`,
    hint: 'Use args.batchSize of 2 or more.',
  },
  // ── images: multimodal records and their preprocessing (TK504–TK509) ─────────────────────
  ImageUnreadable: {
    code: 'TK504',
    name: 'ImageUnreadable',
    title: 'An image file cannot be read',
    message: (file: string, reason: string) => `the image ${show(file)} cannot be read: ${reason}`,
    hint: 'Give a PNG file (8-bit gray, gray + alpha, RGB, RGBA or palette); convert other images first, e.g. with PIL: Image.open(path).convert("RGB").save("image.png").',
  },
  ImageUnsupported: {
    code: 'TK505',
    name: 'ImageUnsupported',
    title: 'A PNG of a kind tunekit does not decode',
    message: (file: string, what: string) => `the PNG ${show(file)} is ${what}, which tunekit's decoder does not read (it reads non-interlaced PNGs of 8 bits per channel, or palette / gray of 1, 2, 4 or 8 bits)`,
    hint: 'Save the image again as a plain 8-bit PNG, e.g. with PIL: Image.open(path).convert("RGB").save(path) (PIL writes non-interlaced PNGs).',
  },
  ImageCountMismatch: {
    code: 'TK506',
    name: 'ImageCountMismatch',
    title: 'The <image> placeholders and the images differ in number',
    message: (where: string, counts: string) => `${where} has ${counts}: each image takes the place of one <image> in the text, in order, as LLaMA-Factory's mm_plugin requires`,
    hint: 'Put one <image> in the user message for each path in the record\'s "images" list (or one image_url part for each image), or remove the extra ones.',
  },
  ImageMissing: {
    code: 'TK507',
    name: 'ImageMissing',
    title: 'An image the data names does not exist',
    message: (where: string, reason: string) => `${where} ${reason}`,
    hint: 'Image paths are relative to the data file\'s folder (LLaMA-Factory\'s dataset_dir / media_dir) or absolute; fix the path or add the file.',
  },
  ImageUrlNotLocal: {
    code: 'TK508',
    name: 'ImageUrlNotLocal',
    title: 'An image_url is not a local file',
    message: (where: string, reason: string) => `${where} ${reason}: tunekit reads images from local files only, never from the network while it prepares data`,
    hint: 'Download the image next to the data file and give its path ("image.png" or "file:///abs/image.png") as the url.',
  },
  ImageModelUnsupported: {
    code: 'TK509',
    name: 'ImageModelUnsupported',
    title: 'The model cannot take these images',
    message: (folder: string, reason: string) => `the model ${show(folder)} cannot take images: ${reason}`,
    hint: "Train records with images on a vision-language model (family 'llava' or 'qwen2_vl') whose folder holds config.json and transformers' preprocessor_config.json (CLIPImageProcessor or Qwen2VLImageProcessor).",
  },
  VisionNeedsTorch: {
    code: 'TK510',
    name: 'VisionNeedsTorch',
    title: 'Vision-language models train on the torch backend',
    message: (family: string, backend: string) => `model.family ${show(family)} is a vision-language model (transformers' own classes in the torch worker: vision tower, projector, language model), which the tfjs backend does not implement; backend is ${show(backend)}${backend === 'auto' ? ", which may pick tfjs" : ''}`,
    hint: "Set backend: 'torch'.",
  },
  VisionTowerFrozen: {
    code: 'TK511',
    name: 'VisionTowerFrozen',
    title: 'The vision tower is frozen',
    message: (module: string, family: string) => `${show(module)} is a module of ${family}'s vision tower only, which stays frozen (LLaMA-Factory's freeze_vision_tower): LoRA adapts the language model and the projector`,
    hint: (family: string, modules: readonly string[]) => `Target the language model's or projector's modules of ${family}: ${modules.join(', ')}; or set model.vision.freezeTower: false to adapt the tower too.`,
  },
  // ── model.vision: which parts of a vision-language model train (TK516–TK519) ─────────────
  VisionOptionsWithoutTower: {
    code: 'TK516',
    name: 'VisionOptionsWithoutTower',
    title: 'model.vision is for a vision-language model',
    message: (family: string) => `model.vision says which parts of a vision-language model train, and model.family ${show(family)} has no vision tower or projector`,
    hint: (families: readonly string[]) => `Remove model.vision, or train a vision-language family (${families.join(', ')}).`,
  },
  VisionMethodUnsupported: {
    code: 'TK517',
    name: 'VisionMethodUnsupported',
    title: 'This method does not train a vision-language model',
    message: (kind: string, family: string, reason: string) => `method ${show(kind)} on the vision-language family ${show(family)}: ${reason}`,
    hint: "Use method: { kind: 'full' } or LoRA (leave method out), which train the language model, the projector and, with model.vision.freezeTower: false, the vision tower.",
  },
  VisionProjectorOnly: {
    code: 'TK518',
    name: 'VisionProjectorOnly',
    title: 'model.vision.projectorOnly trains the projector alone',
    message: (what: string) => `model.vision.projectorOnly trains only the projector (LLaMA-Factory's train_mm_proj_only: the language model and the vision tower frozen), but ${what}`,
    hint: (fix: string) => fix,
  },
  VisionProjectorFrozen: {
    code: 'TK519',
    name: 'VisionProjectorFrozen',
    title: 'The projector is frozen',
    message: (module: string, family: string) => `${show(module)} is ${family}'s projector, which model.vision.freezeProjector keeps frozen (LLaMA-Factory's freeze_multi_modal_projector)`,
    hint: (family: string, modules: readonly string[]) => `Leave the projector out (${family}'s language model modules: ${modules.join(', ')}), or set model.vision.freezeProjector: false.`,
  },
} as const satisfies Record<string, ErrorData>

export type ErrorName = keyof typeof errors
