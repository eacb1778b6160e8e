// The reference environment holds exactly the pinned versions the metric and format tests rely on.
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { runReference } from '../python.ts'

it('has the pinned reference implementations', () => {
  const lock = readFileSync(new URL('./requirements.lock', import.meta.url), 'utf8')
  const pinned = Object.fromEntries([...lock.matchAll(/^([a-z0-9-]+)==(\S+)$/gm)].map((m) => [m[1]!, m[2]!]))
  const installed = JSON.parse(
    runReference('import json, importlib.metadata as m; print(json.dumps({d.metadata["Name"].lower().replace("_", "-"): d.version for d in m.distributions()}))'),
  ) as Record<string, string>
  for (const name of ['sacrebleu', 'rouge-score', 'gguf', 'tensorboard', 'allennlp', 'allennlp-models']) expect(installed[name], name).toBe(pinned[name])
})
