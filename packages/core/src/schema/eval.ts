import { z } from 'zod'

/** The generation metrics a recipe can ask for (`eval.metrics`); `@tunekit/eval` computes them. */
export const evalMetricSchema = z.enum(['bleu4', 'rougeL', 'exact', 'toolCalls'])

export type EvalMetric = z.output<typeof evalMetricSchema>

/**
 * The recipe's `eval` group: the held-out conversations (`data.split`) are answered by the model
 * and the answers scored. Each held-out conversation up to its last assistant turn is the prompt;
 * that turn (text or tool call) is the reference.
 */
export const evalSchema = z.strictObject({
  /**
   * What is scored: `'bleu4'` (mean sentence BLEU-4 of the text turns, sacrebleu), `'rougeL'`
   * (mean ROUGE-L F of the text turns, rouge-score), `'exact'` (whole turns right: text after
   * SQuAD normalisation, calls with the same names and slots) and `'toolCalls'` (slot P/R/F1,
   * function-name accuracy, JSON validity of the tool-call turns).
   * No memory effect; each metric costs milliseconds, generation costs the time.
   * @defaultValue ['bleu4', 'rougeL']
   * @see https://github.com/mjpost/sacrebleu and https://github.com/google-research/google-research/tree/master/rouge
   */
  metrics: z.array(evalMetricSchema).min(1).default(['bleu4', 'rougeL']),
  /**
   * How many held-out conversations are answered and scored, in the held-out set's order, or
   * `'all'`. Fewer is faster and noisier; no memory effect.
   * @defaultValue 'all'
   * @see https://llamafactory.readthedocs.io/en/latest/getting_started/eval.html (max_samples)
   */
  examples: z.union([z.literal('all'), z.number().int().positive()]).default('all'),
  /**
   * Most tokens generated for each answer (generation stops earlier at eos).
   * Bounds generation time and the KV cache's memory; an answer cut short scores lower.
   * @defaultValue 128
   * @see https://huggingface.co/docs/transformers/main_classes/text_generation#transformers.GenerationConfig.max_new_tokens
   */
  maxNewTokens: z.number().int().positive().default(128),
  /**
   * Sample each token (with temperature and topP, seeded by `args.seed`) instead of greedy
   * decoding. Greedy answers are reproducible and usually score higher; no memory effect.
   * @defaultValue false
   * @see https://huggingface.co/docs/transformers/main_classes/text_generation#transformers.GenerationConfig.do_sample
   */
  doSample: z.boolean().default(false),
  /**
   * Temperature of sampling (with `doSample`): below 1 sharpens, above 1 flattens the distribution.
   * No memory effect.
   * @defaultValue 1
   * @see https://huggingface.co/docs/transformers/main_classes/text_generation#transformers.GenerationConfig.temperature
   */
  temperature: z.number().positive().default(1),
  /**
   * Nucleus sampling (with `doSample`): draw from the smallest set of tokens whose probability
   * reaches topP. No memory effect.
   * @defaultValue 1
   * @see https://huggingface.co/docs/transformers/main_classes/text_generation#transformers.GenerationConfig.top_p
   */
  topP: z.number().positive().max(1).default(1),
  /**
   * Tokenizer of BLEU-4 and ROUGE-L: `'13a'` (sacrebleu's default, for space-separated languages)
   * or `'zh'` (every Chinese character a token, other text as `13a`), for Chinese or mixed text.
   * Decides what a "word" is, so scores are comparable only with the same tokenizer; no memory effect.
   * @defaultValue '13a'
   * @see https://github.com/mjpost/sacrebleu#tokenizers
   */
  tokenize: z.enum(['13a', 'zh']).default('13a'),
  /**
   * Also score the base model, without the trained weights, as a baseline row (`tunekit eval
   * --base` scores only that row). Costs a second round of generation; no training memory.
   * @defaultValue false
   * @see https://llamafactory.readthedocs.io/en/latest/getting_started/eval.html
   */
  base: z.boolean().default(false),
})

export type EvalOptions = z.output<typeof evalSchema>
