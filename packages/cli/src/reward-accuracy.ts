// The pairwise accuracy of a reward model (the rm stage's) on preference pairs a recipe never
// trained on: the pairs tokenized as the recipe's tokenize node tokenizes its own (same template,
// tokenizer and truncation), each sequence scored by the backend's `rewards` request.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { artifactDir, compile, nodeParams, resolveModelDir, type Backend, type Recipe } from '@tunekit/core'
import { chatTemplate, loadTokenizer, tokenizePreferences, type PreferenceItem, type TokenizedPair } from '@tunekit/data'
import { writeSeededAdapter } from '@tunekit/torch'

/** A preference pair as text: TRL's explicit-prompt record, one user turn and one answer each. */
export interface TextPair {
  prompt: string
  chosen: string
  rejected: string
}

export interface RewardAccuracy {
  /** The reward of each pair's chosen and rejected answer. */
  chosen: number[]
  rejected: number[]
  /** Share of pairs whose chosen answer gets the higher reward (RewardTrainer's `accuracy`). */
  accuracy: number
}

export interface RewardAccuracyOptions {
  /** The backend that answers the `rewards` request (the recipe's own, as `loadBackend` builds it). */
  backend: Backend
  /**
   * `'trained'`: the run's train artifact (run the recipe first); `'initial'`: the weights training
   * starts from, the base with the recipe's seeded fresh adapter and random head (what the recipe's
   * accuracy was before training).
   */
  model: 'trained' | 'initial'
  /** Folder relative paths of the recipe resolve from. @defaultValue the working directory */
  baseDir?: string
}

/** The rm stage's LoRA adapter as training starts (seeded A, B = 0, the seeded head), with the tokenizer, into `dir`. */
async function writeInitialArtifact(dir: string, train: { params: unknown; id: string; kind: string }, modelDir: string, tokenizeDir: string): Promise<void> {
  const p = nodeParams('train', train)
  if (p.method.kind !== 'lora') throw new Error(`rewardAccuracy: model 'initial' draws a LoRA adapter; method ${p.method.kind} starts from the base weights and a head the train node draws`)
  await writeSeededAdapter(dir, { method: p.method, model: p.model, seed: p.args.seed, modelDir, tokenizeDir })
  await cp(join(tokenizeDir, 'tokenizer'), join(dir, 'tokenizer'), { recursive: true })
}

/**
 * Scores `pairs` with the reward model of an rm recipe and returns the rewards and the pairwise
 * accuracy. Reads the recipe's cached artifacts (model, tokenize and, for `'trained'`, train):
 * run the recipe first.
 */
export async function rewardAccuracy(recipe: Recipe, pairs: readonly TextPair[], o: RewardAccuracyOptions): Promise<RewardAccuracy> {
  if (!o.backend.rewards) throw new Error(`the ${o.backend.name} backend answers no rewards request`)
  const cacheDir = resolve(recipe.output.cacheDir)
  const graph = await compile(recipe, { baseDir: o.baseDir ?? process.cwd(), cacheDir })
  const dirOf = (kind: string) => {
    // this recipe's own node: a chained recipe's (init.recipe) come first, under `<name>/` ids
    const node = graph.nodes.find((n) => n.kind === kind && !n.id.includes('/'))
    if (!node) throw new Error(`rewardAccuracy: recipe ${recipe.name} has no ${kind} node (is it an rm recipe?)`)
    return { node, dir: artifactDir(cacheDir, node.key) }
  }
  const modelDir = await resolveModelDir(dirOf('model').dir)
  const tokenizeDir = dirOf('tokenize').dir
  const train = dirOf('train')
  const tok = await loadTokenizer(join(tokenizeDir, 'tokenizer'))
  const jinja = await readFile(join(tokenizeDir, 'chat_template.jinja'), 'utf8')
  const template = chatTemplate({ jinja }, { bosToken: tok.bos?.token ?? '', eosToken: tok.eos.token })
  const items: PreferenceItem[] = pairs.map((p, i) => ({
    kind: 'pair',
    record: { id: `held-out-${i}`, prompt: [{ role: 'user', content: p.prompt }], chosen: [{ role: 'assistant', content: p.chosen }], rejected: [{ role: 'assistant', content: p.rejected }] },
  }))
  const tokenized: TokenizedPair[] = []
  const { data } = recipe
  await tokenizePreferences(items, tok, { template, maxLength: data.maxLength, maxPromptLength: data.maxPromptLength, onError: 'fail' }, { pair: (p) => void tokenized.push(p), unpaired: () => undefined })
  const scratch = o.model === 'initial' ? await mkdtemp(join(tmpdir(), 'tunekit-initial-rm-')) : undefined
  try {
    if (scratch) await writeInitialArtifact(scratch, train.node, modelDir, tokenizeDir)
    const sequences = [...tokenized.map((p) => [...p.prompt, ...p.chosen.ids]), ...tokenized.map((p) => [...p.prompt, ...p.rejected.ids])]
    const rewards = await o.backend.rewards({ model: modelDir, adapter: scratch ?? train.dir, sequences, padId: tok.pad.id })
    const chosen = rewards.slice(0, tokenized.length)
    const rejected = rewards.slice(tokenized.length)
    return { chosen, rejected, accuracy: chosen.filter((r, i) => r > rejected[i]!).length / Math.max(1, chosen.length) }
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true })
  }
}
