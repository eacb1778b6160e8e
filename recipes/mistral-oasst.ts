/**
 * Mistral-7B v0.1 taught to chat in ChatML on OpenAssistant's top-ranked conversations
 * (OpenAssistant/oasst_top1_2023-08-25: 12,947 train / 690 test), with QLoRA as in the
 * qlora-minimal tutorial (https://github.com/geronimi73/qlora-minimal).
 *
 * Memory: one CUDA GPU with 24 GB: ≈ 4 GB of NF4 weights, ≈ 0.43 B trainable parameters (LoRA
 *         r 64 on every projection + embed_tokens and lm_head) with their AdamW states, and
 *         activations of 16 × 512 tokens under gradient checkpointing. `plan` prints the estimate.
 * Time:   3 epochs = 3 × 810 steps of 16 conversations; a few hours on one modern GPU (`plan`
 *         prints an ETA for the backend it finds).
 * Run:    npx tsx recipes/mistral-oasst.ts          check, plan, then train, merge and sample
 *         npx tsx recipes/mistral-oasst.ts plan     the plan only; needs no weights
 * Inputs: the weights and the dataset are read from the Hugging Face cache (HF_HOME); or pass
 *         --model-path <folder> (or TUNEKIT_MODEL_PATH) and --data-path <file or folder>.
 */
import { hub } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { qloraChatml } from '@tunekit/recipes'

export const recipe = qloraChatml({
  name: 'mistral-oasst',
  model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
  // The tutorial pads with </s>; padding is masked by position, so <|im_end|> stays a label.
  tokens: { pad: '</s>' },
  data: {
    source: hub('OpenAssistant/oasst_top1_2023-08-25'),
    // Evaluate on the dataset's own 690-conversation test split, as the tutorial does.
    split: { evalSplit: 'test' },
  },
  output: { samples: ['What is the capital of France?', 'Write a haiku about the sea.'] },
})

await main(import.meta, recipe)
