// The reference entry scoreGenerations takes follows the metric: a wrong shape is a type error.
import { expectTypeOf, it } from 'vitest'
import { scoreGenerations, type GenerationScore } from '@tunekit/eval'

it('types references and options by metric', () => {
  expectTypeOf(scoreGenerations('bleu', ['a'], [['a', 'b']], { tokenize: 'zh' })).toEqualTypeOf<GenerationScore>()
  scoreGenerations('rouge-l', ['a'], ['a'], { useStemmer: true })
  scoreGenerations('squad-v2', ['', 'x'], [[], ['x']])
  scoreGenerations('tool-calls', ['{"name": "f", "arguments": {}}'], [{ calls: [{ name: 'f', arguments: {} }] }])
  // @ts-expect-error BLEU takes a list of references per prediction
  scoreGenerations('bleu', ['a'], ['a'])
  // @ts-expect-error ja-mecab is not one of the tokenizers offered
  scoreGenerations('bleu', ['a'], [['a']], { tokenize: 'ja-mecab' })
  // @ts-expect-error a tool-call reference is text or calls
  scoreGenerations('tool-calls', ['x'], [{ call: 'f' }])
  // @ts-expect-error not a metric
  scoreGenerations('meteor', ['a'], [['a']])
})
