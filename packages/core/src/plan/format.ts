import { formatIssue } from '../errors/tunekit-error.ts'
import { gb } from './memory.ts'
import type { Plan } from './plan.ts'

const count = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(Math.round(n)))

/** Seconds as `2h 05m`, `3m 20s` or `12s`. */
export function duration(seconds: number): string {
  const s = Math.round(seconds)
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`
  return `${s}s`
}

const pad = (text: string, width: number): string => text.padEnd(width)

/** Figures a reader looks for first; the rest follow in file order. */
const FIRST = ['records', 'conversations', 'samples', 'tokens', 'trainedTokens', 'truncated', 'dropped', 'skipped', 'trainSamples', 'evalSamples', 'stepsPerEpoch', 'totalSteps', 'paddingEfficiency']
const rank = (name: string): number => (FIRST.includes(name) ? FIRST.indexOf(name) : FIRST.length)

/** The plan as `tunekit plan` prints it on a terminal. */
export function formatPlan(p: Plan): string {
  const out: string[] = []
  out.push(`plan: ${p.recipeName}`)
  out.push(`backend: ${p.backend.name} (${p.backend.engine}, ${p.backend.device}) — ${p.backend.reason}`)
  out.push('', 'graph:')
  const idWidth = Math.max(9, ...p.nodes.map((n) => n.id.length))
  for (const n of p.nodes) {
    const figs = Object.entries(n.figures).sort(([a], [b]) => rank(a) - rank(b)).slice(0, 6).map(([k, v]) => `${k} ${Number.isInteger(v) ? count(v) : v.toFixed(3)}`).join(', ')
    out.push(`  ${n.status === 'cached' ? '✔' : '○'} ${pad(n.id, idWidth)} ${pad(n.status, 7)} ${n.key.slice(0, 12)}${figs ? `  ${figs}` : ''}`)
  }
  const d = p.data
  out.push('', `data (${d.from}): ${d.trainSamples !== undefined ? `${count(d.trainSamples)} train samples, ` : ''}` +
    `${d.stepsPerEpoch !== undefined ? `${d.stepsPerEpoch} steps/epoch, ` : ''}${d.totalSteps !== undefined ? `${d.totalSteps} steps, ` : ''}` +
    `${d.tokens !== undefined ? `${count(d.tokens)} padded tokens, ` : ''}${d.from === 'cache' ? 'longest micro-batch' : 'sequence'} ${d.seqLen}`)
  if (p.template) out.push(`template: ${typeof p.template.template === 'string' ? p.template.template : 'custom Jinja'} (${p.template.rule})`)
  if ('params' in p.model) {
    const m = p.model
    const pct = ((100 * m.params.trainable) / m.params.total).toFixed(2)
    out.push(`model: ${m.id} (${m.family}, numbers from ${m.source}), ${count(m.params.base)} params`)
    const parts = m.params.method === 'lora'
      ? `LoRA ${count(m.params.lora)}${m.params.doraMagnitudes ? `, DoRA magnitudes ${count(m.params.doraMagnitudes)}` : ''}${m.params.modulesToSave ? `, saved modules ${count(m.params.modulesToSave)}` : ''}${m.params.trainableTokens ? `, token rows ${count(m.params.trainableTokens)}` : ''}`
      : m.params.trainedInBase ? `${m.params.method}, the base's own tensors` : `${m.params.method}, beside the frozen base (PEFT's count)`
    out.push(`trainable: ${count(m.params.trainable)} of ${count(m.params.total)} (${pct}%): ${parts}`)
  } else {
    out.push(`model: ${p.model.id} — ${p.model.reason}`)
  }
  if (p.memory) {
    const m = p.memory
    const w = m.weightsDetail
    const a = m.activationsDetail
    out.push('', `memory per device (estimate, ${p.backend.device}):`)
    out.push(`  weights      ${pad(gb(m.weights), 10)} ${w.quantized ? `${w.quantized} ${w.bitsPerQuantizedParam.toFixed(3)} bits × ${count(w.quantizedParams)} = ${gb(w.quantizedBytes)}, rest ${w.dtype} ${gb(w.unquantizedBytes)}` : w.dtype}`)
    out.push(`  ${p.model && 'params' in p.model && p.model.params.trainedInBase ? 'trained    ' : 'adapters   '}  ${pad(gb(m.adapters), 10)} float32`)
    out.push(`  gradients    ${pad(gb(m.gradients), 10)} float32`)
    out.push(`  optimizer    ${pad(gb(m.optimizer), 10)} ${m.optimizerDetail.bytesPerParam} bytes/param${m.optimizerDetail.paged ? ' (paged)' : ''}`)
    out.push(`  activations  ${pad(gb(m.activations), 10)} ${a.used} gradient checkpointing (with ${gb(a.withCheckpointing)}, without ${gb(a.withoutCheckpointing)}; ${a.attention} attention)`)
    out.push(`  total        ${gb(m.total)}${p.backend.memoryBytes ? ` of ${gb(p.backend.memoryBytes)}${m.fits ? '' : ' — does not fit'}` : ''}`)
    if (m.process) out.push(`  process peak ${pad(gb(m.process.bytes), 10)} RSS, calibrated: ${m.process.how}`)
    for (const note of m.notes) out.push(`  note: ${note}`)
  }
  if (p.disk && p.disk.parts.length > 0) {
    const d = p.disk
    out.push('', `disk in the cache (estimate, ${d.folder}):`)
    for (const part of d.parts) out.push(`  ${pad(part.name, 12)} ${pad(gb(part.bytes), 10)} ${part.detail}`)
    out.push(`  total        ${gb(d.total)}${d.freeBytes !== null ? ` of ${gb(d.freeBytes)} free${d.fits ? '' : ' — does not fit'}` : ''}`)
  }
  out.push('', p.eta.seconds === null ? `ETA: unknown (${p.eta.reason})` : 'cached' in p.eta ? 'ETA: nothing to train (train is cached)' : `ETA: ${duration(p.eta.seconds)} at ${count(p.eta.tokensPerSecond)} tokens/s (${p.eta.how})`)
  for (const note of p.notes) out.push(`note: ${note}`)
  if (p.issues.length > 0) {
    const errors = p.issues.filter((i) => i.severity === 'error').length
    out.push('', errors > 0 ? `problems (${errors} error${errors === 1 ? '' : 's'}: the run would fail):` : 'warnings:')
    for (const i of p.issues) out.push(formatIssue(i))
  }
  return `${out.join('\n')}\n`
}
