// The tokenizer files of a torch qa-train artifact, the same bytes the tfjs qa-train writes
// (@tunekit/hf's tokenizerFilesFrom over qa-features' tokenizer/, model_max_length = the
// model's position count), so transformers' QA pipeline loads the folder as it is.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { inputOfKind, writeFileAtomic, type NodeContext } from '@tunekit/core'
import { tokenizerFilesFrom } from '@tunekit/hf'

export async function writeQaTokenizer(ctx: NodeContext): Promise<void> {
  const config = JSON.parse(await readFile(join(ctx.outDir, 'config.json'), 'utf8')) as { max_position_embeddings: number }
  const files = await tokenizerFilesFrom(join(inputOfKind(ctx, 'qa-features'), 'tokenizer'), config.max_position_embeddings)
  for (const [name, bytes] of Object.entries(files)) await writeFileAtomic(join(ctx.outDir, name), bytes)
}
