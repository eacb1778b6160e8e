/**
 * Generation metrics in plain TypeScript, each equal to its Python reference: BLEU-4 (sacrebleu),
 * ROUGE-L (rouge-score), exact match and SQuAD v1.1 / v2.0 EM and F1 (the official scripts), and
 * function-calling scores (name accuracy, JSON validity, slot P/R/F1, BLEU-4 of text turns).
 *
 * @packageDocumentation
 */
export { corpusBleu, sentenceBleu } from './bleu/bleu.ts'
export type { BleuOptions, BleuScore, BleuSmoothing, BleuTokenizer } from './bleu/bleu.ts'
export { tokenize13a } from './bleu/tokenize-13a.ts'
export { tokenizeZh } from './bleu/tokenize-zh.ts'
export { rougeL, corpusRougeL } from './rouge/rouge-l.ts'
export type { RougeOptions, RougeScore } from './rouge/rouge-l.ts'
export { rougeTokenize } from './rouge/tokenize.ts'
export { porterStem } from './rouge/porter-stemmer.ts'
export { normalizeAnswer, exactMatch } from './squad/normalize.ts'
export { squadV1, squadF1V1 } from './squad/squad-v1.ts'
export type { SquadV1Score } from './squad/squad-v1.ts'
export { squadV2, squadF1V2 } from './squad/squad-v2.ts'
export type { SquadV2Score } from './squad/squad-v2.ts'
export { squadScore } from './squad/squad-score.ts'
export { parseToolCalls } from './tool-calls/turn.ts'
export type { ToolCall, ToolTurn } from './tool-calls/turn.ts'
export { canonicalValue } from './tool-calls/slots.ts'
export { scoreToolCalls } from './tool-calls/score.ts'
export type { ToolCallOptions, ToolCallScore } from './tool-calls/score.ts'
export { formatToolCallTable, toolCallReport } from './tool-calls/report.ts'
export { scoreGenerations, generationMetrics } from './score-generations.ts'
export type { GenerationMetric, GenerationMetrics, GenerationScore } from './score-generations.ts'
export { scoreHeldOut, referenceOf } from './held-out/score-held-out.ts'
export type { HeldOutScoreOptions } from './held-out/score-held-out.ts'
export { formatScoreTable } from './held-out/score-table.ts'
export { writeScore } from './held-out/write-score.ts'
