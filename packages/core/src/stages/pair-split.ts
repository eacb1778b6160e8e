import type { GraphBuilder } from '../graph/builder.ts'

/**
 * The held-out preference pairs of a stage that trains on pairs (dpo; orpo, simpo, rm can add it
 * the same way): a `pair-split` node after `tokenize`, by `data.split` (a share or a count, seeded,
 * as datasets' train_test_split). Its input is what the train node reads its pairs from, so the
 * train node trains on `train` and evaluates on `eval`. Returns its id.
 */
export async function addPairSplit(b: GraphBuilder, tokenize = 'tokenize'): Promise<string> {
  return b.add('pair-split', [tokenize])
}
