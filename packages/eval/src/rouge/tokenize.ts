import { porterStem } from './porter-stemmer.ts'

/**
 * rouge-score's default tokenizer: lower-case, every run of characters other than a–z and 0–9
 * becomes a space, split; with the stemmer, tokens longer than three characters are Porter-stemmed.
 * Text without ASCII letters or digits (Chinese, for one) has no tokens and scores 0; pass your own
 * tokenizer to {@link rougeL} for such text.
 *
 * @see rouge-score 0.1.2 `rouge_score/tokenize.py` (tokenize) — the reference.
 */
export function rougeTokenize(text: string, useStemmer = false): string[] {
  const tokens = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(' ')
  const stemmed = useStemmer ? tokens.map((t) => (t.length > 3 ? porterStem(t) : t)) : tokens
  // rouge-score's last check, after stemming: only non-empty a–z0–9 tokens remain
  return stemmed.filter((t) => /^[a-z0-9]+$/.test(t))
}
