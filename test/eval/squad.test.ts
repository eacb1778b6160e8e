// SQuAD v1.1 and v2.0 against the official evaluation scripts (test/reference/requirements.lock):
// v1.1's evaluate() as allennlp 0.9.0 ships evaluate-v1.1.py; v2.0's get_raw_scores / make_eval_dict
// / merge_eval, which no package ships, written out below from evaluate-v2.0.py around the script's
// own normalize_answer, compute_exact and compute_f1 as allennlp-models 2.10.1 ships them.
import { describe, expect, it } from 'vitest'
import { mulberry32 } from '@tunekit/core'
import { exactMatch, normalizeAnswer, scoreGenerations, squadF1V1, squadF1V2, squadV1, squadV2, type SquadV2Score } from '@tunekit/eval'
import { pick, type Random } from './corpus.ts'
import { close, referenceJson } from './reference.ts'

const OFFICIAL = `
import collections, importlib.util, os
def load(package, path):
    root = importlib.util.find_spec(package).submodule_search_locations[0]  # finds, does not import
    spec = importlib.util.spec_from_file_location(package + '_squad', os.path.join(root, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
v1 = load('allennlp', 'tools/squad_eval.py')
v2 = load('allennlp_models', 'rc/tools/squad.py')

# evaluate-v2.0.py, without the no-answer probability file (na_probs all 0, threshold 1.0)
def get_raw_scores(dataset, preds):
    exact_scores, f1_scores = {}, {}
    for article in dataset:
        for p in article['paragraphs']:
            for qa in p['qas']:
                qid = qa['id']
                gold_answers = [a['text'] for a in qa['answers'] if v2.normalize_answer(a['text'])]
                if not gold_answers:
                    gold_answers = ['']
                a_pred = preds[qid]
                exact_scores[qid] = max(v2.compute_exact(a, a_pred) for a in gold_answers)
                f1_scores[qid] = max(v2.compute_f1(a, a_pred) for a in gold_answers)
    return exact_scores, f1_scores
def make_eval_dict(exact_scores, f1_scores, qid_list=None):
    if not qid_list:
        total = len(exact_scores)
        return collections.OrderedDict([('exact', 100.0 * sum(exact_scores.values()) / total),
                                        ('f1', 100.0 * sum(f1_scores.values()) / total), ('total', total)])
    total = len(qid_list)
    return collections.OrderedDict([('exact', 100.0 * sum(exact_scores[k] for k in qid_list) / total),
                                    ('f1', 100.0 * sum(f1_scores[k] for k in qid_list) / total), ('total', total)])
def merge_eval(main_eval, new_eval, prefix):
    for k in new_eval:
        main_eval['%s_%s' % (prefix, k)] = new_eval[k]
def evaluate_v2(dataset, preds):
    qid_to_has_ans = v2.make_qid_to_has_ans(dataset)
    has_ans_qids = [k for k, v in qid_to_has_ans.items() if v]
    no_ans_qids = [k for k, v in qid_to_has_ans.items() if not v]
    exact_raw, f1_raw = get_raw_scores(dataset, preds)
    out_eval = make_eval_dict(exact_raw, f1_raw)
    if has_ans_qids:
        merge_eval(out_eval, make_eval_dict(exact_raw, f1_raw, qid_list=has_ans_qids), 'HasAns')
    if no_ans_qids:
        merge_eval(out_eval, make_eval_dict(exact_raw, f1_raw, qid_list=no_ans_qids), 'NoAns')
    return out_eval

def as_dataset(golds):
    return [{'paragraphs': [{'qas': [{'id': str(i), 'answers': [{'text': t} for t in g]} for i, g in enumerate(golds)]}]}]
v1_golds, v1_preds = data['v1']['golds'], data['v1']['predictions']
v2_golds, v2_preds = data['v2']['golds'], data['v2']['predictions']
print(json.dumps({
    'normal': [v1.normalize_answer(t) for t in data['texts']],
    'v1': v1.evaluate(as_dataset(v1_golds), {str(i): p for i, p in enumerate(v1_preds)}),
    'v1_em': [v1.metric_max_over_ground_truths(v1.exact_match_score, p, g) for p, g in zip(v1_preds, v1_golds)],
    'v1_f1': [v1.metric_max_over_ground_truths(v1.f1_score, p, g) for p, g in zip(v1_preds, v1_golds)],
    'v2': evaluate_v2(as_dataset(v2_golds), {str(i): p for i, p in enumerate(v2_preds)}),
    'v2_f1': [[v2.compute_f1(g, p) for g in gs] for p, gs in zip(v2_preds, v2_golds)],
}))
`

// Answers that probe the normalisation: case, ASCII and non-ASCII punctuation, articles at Unicode
// word boundaries (Python's \b: "éthe" keeps its "the", "“the”" loses it), digits, underscores, white
// space Python and JavaScript disagree on, Chinese.
const ANSWER_WORDS = (
  'the a an The A An Denver Broncos Carolina Panthers Super Bowl 50 1,000 3.5 Santa Clara Levi’s Stadium ' +
  'café naïve über Æsir éthe theñ ïan Æa the_ 3the the3 “the” «an» (a) north-east O’Neil rock&roll 北京 上海 年'
).split(' ')
const MARKS = ['', '', '', '.', ',', '!', '?', "'s", '"', '-', '…', '—', '%']
const SPACES = [' ', ' ', ' ', '  ', '\t', '\n', '\u00a0', '\u3000', '\x1f', '\u0085', '\ufeff']

function answer(random: Random): string {
  const n = 1 + Math.floor(random() * 5)
  let text = ''
  for (let i = 0; i < n; i++) text += (i > 0 ? pick(random, SPACES) : '') + pick(random, ANSWER_WORDS) + pick(random, MARKS)
  return text
}

/** A prediction drawn from the gold answers: a copy, a variant, a part, something else, or nothing. */
function prediction(random: Random, golds: readonly string[]): string {
  const gold = golds.length > 0 ? pick(random, golds) : answer(random)
  const r = random()
  if (r < 0.2) return gold
  if (r < 0.35) return `${pick(random, ['The ', 'a ', '', '"'])}${gold.toUpperCase()}${pick(random, MARKS)}`
  if (r < 0.55) return gold.split(' ').filter(() => random() < 0.6).join(' ')
  if (r < 0.7) return `${gold} ${answer(random)}`
  if (r < 0.82) return answer(random)
  return pick(random, ['', ' ', '.', 'the', 'an !'])
}

function questions(seed: number, count: number, unanswerable: number): { golds: string[][]; predictions: string[] } {
  const random = mulberry32(seed)
  const golds: string[][] = []
  const predictions: string[] = []
  for (let i = 0; i < count; i++) {
    // v2.0 only: no gold answer, or only answers that normalise to nothing ("The.")
    const kind = random()
    const g = kind < unanswerable ? [] : kind < unanswerable + 0.03 ? ['The.'] : Array.from({ length: 1 + Math.floor(random() * 3) }, () => answer(random))
    golds.push(g)
    predictions.push(kind < unanswerable && random() < 0.5 ? '' : prediction(random, g))
  }
  return { golds, predictions }
}

const v1 = questions(31, 400, 0)
const v2 = questions(32, 400, 0.35)
const texts = [...v1.golds.flat(), ...v1.predictions, ...ANSWER_WORDS]
const official = referenceJson<{
  normal: string[]
  v1: { exact_match: number; f1: number }
  v1_em: boolean[]
  v1_f1: number[]
  v2: Record<string, number>
  v2_f1: number[][]
}>(OFFICIAL, { texts, v1, v2 })

describe('SQuAD answer normalisation', () => {
  it("equals the official normalize_answer on every answer and prediction", () => {
    expect(texts.map(normalizeAnswer)).toEqual(official.normal)
  })

  it('works as the official definition says, by hand', () => {
    expect(normalizeAnswer('The  Denver Broncos!')).toBe('denver broncos')
    // é and ñ are letters to Python, so "éthe" and "theñ" have no word boundary at "the"; curly
    // quotes are not ASCII punctuation, so they stay and bound the article; "_" goes before articles do
    expect(normalizeAnswer('éthe theñ “the” the_ 3the')).toBe('éthe theñ “ ” 3the')
    expect(exactMatch('the Broncos.', ['Denver Broncos', 'broncos'])).toBe(1)
    expect(exactMatch('Broncos', 'Panthers')).toBe(0)
  })
})

describe('SQuAD v1.1', () => {
  it('equals the official evaluate() and its per-question scores', () => {
    const ours = squadV1(v1.predictions, v1.golds)
    close(ours.exactMatch, official.v1.exact_match, 'exact_match', 1e-9)
    close(ours.f1, official.v1.f1, 'f1', 1e-9)
    v1.predictions.forEach((p, i) => {
      expect(exactMatch(p, v1.golds[i]!), `question ${i}`).toBe(official.v1_em[i] ? 1 : 0)
      close(Math.max(...v1.golds[i]!.map((g) => squadF1V1(p, g))), official.v1_f1[i]!, `question ${i} f1`, 1e-12)
    })
    // the corpus is neither all right nor all wrong
    expect(official.v1.exact_match).toBeGreaterThan(10)
    expect(official.v1.f1).toBeLessThan(90)
  })

  it('needs a gold answer for every question', () => {
    expect(() => squadV1(['Denver'], [[]])).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: A prediction has no reference
      ✖ TK601 squad-v1: the references of prediction 0 are an empty list, so it cannot be scored → at references[0]
        value: []
        fix: Give every SQuAD v1.1 question at least one gold answer, or score with squad-v2, where no gold answer means the question is unanswerable.]
    `)
  })
})

describe('SQuAD v2.0', () => {
  it('equals the official script: overall, HasAns and NoAns', () => {
    const ours = squadV2(v2.predictions, v2.golds)
    const o = official.v2
    const pairs: [keyof SquadV2Score, string][] = [
      ['exact', 'exact'], ['f1', 'f1'], ['total', 'total'],
      ['hasAnsExact', 'HasAns_exact'], ['hasAnsF1', 'HasAns_f1'], ['hasAnsTotal', 'HasAns_total'],
      ['noAnsExact', 'NoAns_exact'], ['noAnsF1', 'NoAns_f1'], ['noAnsTotal', 'NoAns_total'],
    ]
    for (const [ours_, theirs] of pairs) close(ours[ours_]!, o[theirs]!, theirs, 1e-9)
    expect(Object.keys(ours).length).toBe(Object.keys(o).length)
    v2.predictions.forEach((p, i) => v2.golds[i]!.forEach((g, j) => close(squadF1V2(p, g), official.v2_f1[i]![j]!, `question ${i} gold ${j}`, 1e-12)))
    expect(o.NoAns_total).toBeGreaterThan(100)
    expect(o.NoAns_exact).toBeGreaterThan(10)
  })

  it('scores unanswerable questions by hand: an empty prediction is the right no-answer', () => {
    const s = squadV2(['', 'Denver', 'Denver Broncos', '.'], [[], [], ['Denver Broncos'], ['the']])
    // 1: empty for no-answer (1, 1); 2: an answer for no-answer (0, 0); 3: exact (1, 1);
    // 4: gold "the" normalises to nothing, so it is a no-answer that "." (nothing too) gets right
    expect(s).toEqual({ exact: 75, f1: 75, total: 4, hasAnsExact: 100, hasAnsF1: 100, hasAnsTotal: 2, noAnsExact: 50, noAnsF1: 50, noAnsTotal: 2 })
    // v1.1 scores the same empty pair 0: its F1 has no no-answer rule
    expect([squadF1V1('', ''), squadF1V2('', '')]).toEqual([0, 1])
    expect(squadV2(['x'], [['x']])).toEqual({ exact: 100, f1: 100, total: 1, hasAnsExact: 100, hasAnsF1: 100, hasAnsTotal: 1 })
  })

  it('is what scoreGenerations reports for squad-v2', () => {
    const s = scoreGenerations('squad-v2', v2.predictions, v2.golds)
    expect(s.metrics.exact).toBe(squadV2(v2.predictions, v2.golds).exact)
    expect(s.count).toBe(400)
  })
})
