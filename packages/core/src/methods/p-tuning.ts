import { z } from 'zod'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import type { ModelConfig } from '../families/types.ts'
import { addedTokensUntrained } from './ia3.ts'
import { promptLearningIssues } from './prompt-tuning.ts'
import type { CheckModel, MethodDefinition } from './types.ts'

// P-tuning (Liu et al., 2021, "GPT Understands, Too"): `numVirtualTokens` trainable embeddings
// [n, hidden] pass through a prompt encoder (an MLP, or a bidirectional LSTM and an MLP) whose
// output is prepended to every row's input embeddings, as prompt tuning's are. The options are
// PEFT's PromptEncoderConfig fields in camelCase. PEFT saves the encoder's output, not the encoder
// (`prompt_embeddings` [n, hidden], loaded with `inference_mode: true`), so the adapter is the
// same size as prompt tuning's and cannot be trained further from where it stopped.

export const pTuningSchema = z.strictObject({
  /**
   * P-tuning: virtual-token embeddings reparameterised by a small trained prompt encoder (MLP or
   * LSTM) and prepended to every input, the model frozen. More trainable values than prompt tuning
   * (the encoder, e.g. 3·hidden² for the MLP) but the same saved adapter (the encoder's output);
   * the encoder makes training steadier. Not mergeable.
   * @defaultValue 'lora' (when `method` is left out)
   * @see https://arxiv.org/abs/2103.10385 (P-tuning), https://huggingface.co/docs/peft/package_reference/p_tuning
   */
  kind: z.literal('p-tuning'),
  /**
   * Virtual tokens prepended to each row. More: more capacity, and every row (and its attention)
   * that much longer.
   * @defaultValue 20
   * @see https://huggingface.co/docs/peft/package_reference/p_tuning#peft.PromptEncoderConfig (num_virtual_tokens)
   */
  numVirtualTokens: z.number().int().positive().default(20),
  /**
   * The prompt encoder: `'MLP'` (three linear layers with ReLU, PEFT's recommendation) or `'LSTM'`
   * (a bidirectional LSTM of `encoderNumLayers` layers, then two linear layers), as the paper's.
   * The LSTM holds about 4× the MLP's values per layer; quality is similar on small tasks.
   * @defaultValue 'MLP'
   * @see https://huggingface.co/docs/peft/package_reference/p_tuning#peft.PromptEncoderConfig (encoder_reparameterization_type)
   */
  encoderReparameterizationType: z.enum(['MLP', 'LSTM']).default('MLP'),
  /**
   * Width of the prompt encoder's hidden layers. Larger: more trainable values (quadratic) and
   * optimizer state; the saved adapter stays [numVirtualTokens, hidden].
   * @defaultValue the model's hidden size (PEFT fills in `token_dim`)
   * @see https://huggingface.co/docs/peft/package_reference/p_tuning#peft.PromptEncoderConfig (encoder_hidden_size)
   */
  encoderHiddenSize: z.number().int().positive().optional(),
  /**
   * Layers of the LSTM encoder (the MLP always has three linear layers and ignores it: a warning).
   * More: more trainable values, slower steps.
   * @defaultValue 2
   * @see https://huggingface.co/docs/peft/package_reference/p_tuning#peft.PromptEncoderConfig (encoder_num_layers)
   */
  encoderNumLayers: z.number().int().positive().default(2),
  /**
   * Dropout between the LSTM encoder's layers while training (torch.nn.LSTM's `dropout`; the MLP has
   * none). Regularises the encoder; no memory effect. Set 0 for runs compared across backends.
   * @defaultValue 0
   * @see https://huggingface.co/docs/peft/package_reference/p_tuning#peft.PromptEncoderConfig (encoder_dropout)
   */
  encoderDropout: z.number().min(0).max(1).default(0),
})

export type PTuningOptions = z.output<typeof pTuningSchema>

/** The encoder width PEFT uses: `encoder_hidden_size`, else `token_dim` (the hidden size). */
export const pTuningEncoderWidth = (o: { encoderHiddenSize?: number | undefined }, hiddenSize: number): number => o.encoderHiddenSize ?? hiddenSize

/** Values of `torch.nn.Linear(inF, outF)` with its bias. */
const linear = (inF: number, outF: number): number => inF * outF + outF

/**
 * PEFT's PromptEncoder in training mode: the embedding [n, hidden], then the MLP
 * (hidden → e → e → hidden), or the bidirectional LSTM (per direction and layer W_ih [4e, in],
 * W_hh [4e, e] and two biases [4e]; `in` is hidden for the first layer, 2e after) and its MLP
 * head (2e → 2e → hidden).
 */
export function pTuningParts(o: PTuningOptions, c: Pick<ModelConfig, 'hiddenSize'>): { embedding: number; encoder: number } {
  const h = c.hiddenSize
  const e = pTuningEncoderWidth(o, h)
  const embedding = o.numVirtualTokens * h
  if (o.encoderReparameterizationType === 'MLP') return { embedding, encoder: linear(h, e) + linear(e, e) + linear(e, h) }
  let lstm = 0
  for (let layer = 0; layer < o.encoderNumLayers; layer++) {
    const inF = layer === 0 ? h : 2 * e
    lstm += 2 * (4 * e * inF + 4 * e * e + 8 * e)
  }
  return { embedding, encoder: lstm + linear(2 * e, 2 * e) + linear(2 * e, h) }
}

function check(o: Partial<PTuningOptions>, model: CheckModel, at: string): Issue[] {
  const issues: Issue[] = [...addedTokensUntrained(model, at, 'p-tuning')]
  if (o.encoderReparameterizationType !== 'LSTM' && o.encoderNumLayers !== undefined && o.encoderNumLayers !== 2) {
    issues.push(issue('PTuningEncoderLayersIgnored', { path: `${at}.encoderNumLayers`, value: o.encoderNumLayers, severity: 'warning' }, o.encoderNumLayers))
  }
  return issues
}

export const pTuning = {
  schema: pTuningSchema,
  check,
  mergeable: false,
  recipeIssues: promptLearningIssues('P-tuning'),
  count: (o, { config }) => {
    const { embedding, encoder } = pTuningParts(o, config)
    // the artifact is PEFT's prompt_embeddings [n, hidden], the encoder's output: the encoder stays in checkpoints
    return { trainable: embedding + encoder, inBase: false, parts: { promptEmbeddings: embedding, promptEncoder: encoder }, artifact: embedding }
  },
  // As prompt tuning: the gradient reaches the virtual tokens through every frozen layer.
  activationBytes: (_o, { config: c, computeBytes: p }) => c.numHiddenLayers * p * (2 * c.hiddenSize + c.intermediateSize),
} satisfies MethodDefinition<typeof pTuningSchema>
