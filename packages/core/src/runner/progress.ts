import type { RunEvent } from '../events.ts'
import { duration } from '../plan/format.ts'

/** Options of {@link createProgressRenderer}. */
export interface ProgressOptions {
  /** Where text goes; default `process.stdout.write`. */
  write?: (text: string) => void
  /** Redraw progress bars in place (a terminal) or print plain lines (CI, pipes). Default: `process.stdout.isTTY`. */
  tty?: boolean
  /** Terminal width for the bar. */
  columns?: number
}

const bar = (done: number, total: number, width: number): string => {
  const filled = total > 0 ? Math.min(width, Math.round((width * done) / total)) : 0
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
}

const num = (n: number, digits = 4): string => (Math.abs(n) >= 1e-3 || n === 0 ? n.toFixed(digits) : n.toExponential(2))
const rate = (n: number): string => (n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0))

function stepText(e: Extract<RunEvent, { type: 'step' }>): string {
  const eta = e.etaSeconds !== undefined ? ` ETA ${duration(e.etaSeconds)}` : ''
  const mem = (e.memoryBytes !== undefined ? ` mem ${(e.memoryBytes / 1e9).toFixed(2)}GB` : '') + (e.rssBytes !== undefined ? ` rss ${(e.rssBytes / 1e9).toFixed(2)}GB` : '')
  // a preference stage's reward accuracy and margin (TRL's rewards/accuracies, rewards/margins)
  const m = e.metrics ?? {}
  const rewards = m['rewards/accuracies'] !== undefined && m['rewards/margins'] !== undefined ? ` acc ${num(m['rewards/accuracies'], 3)} margin ${num(m['rewards/margins'])}`
    // grpo's mean reward of the step's completions, and its KL to the reference when beta > 0
    // ppo's mean reward-model score of the rollout's completions and its KL to the reference (TRL's objective/scores, objective/kl)
    : m['objective/scores'] !== undefined ? ` score ${num(m['objective/scores'], 3)} kl ${num(m['objective/kl'] ?? 0)}`
    : m.reward !== undefined ? ` reward ${num(m.reward, 3)}${m.kl !== undefined ? ` kl ${num(m.kl)}` : ''}`
    // kto's KL estimate, and its margin when the step had desirable and undesirable examples
    : m.kl !== undefined ? ` kl ${num(m.kl)}${m['rewards/margins'] !== undefined ? ` margin ${num(m['rewards/margins'])}` : ''}` : ''
  return `step ${e.step}/${e.totalSteps} epoch ${num(e.epoch, 2)} loss ${num(e.loss)}${rewards} lr ${e.learningRate.toExponential(2)} grad ${num(e.gradNorm, 3)} ${rate(e.tokensPerSecond)} tok/s${mem}${eta}`
}

/** One line for an event, or `null` for events only a bar shows. */
export function describeEvent(e: RunEvent): string | null {
  switch (e.type) {
    case 'run-start': return `run ${e.recipe}: ${e.nodes.join(' → ')}`
    case 'run-end': return e.ok ? 'run finished' : `run stopped (${e.code ?? 'error'})`
    case 'node-start': return `▶ ${e.node} (${e.key.slice(0, 12)})`
    case 'node-cached': return `✔ ${e.node} cached (${e.key.slice(0, 12)})`
    case 'node-end': return `✔ ${e.node} done in ${duration(e.seconds)}`
    case 'node-progress': return `  ${e.node}: ${e.done}${e.total !== undefined ? `/${e.total}` : ''} ${e.unit}`
    case 'step': return `  ${e.node} ${stepText(e)}`
    // a preference stage's held-out pairs: TRL's eval_rewards/accuracies and margins beside the loss
    case 'eval': return `  ${e.node} eval step ${e.step}: loss ${num(e.loss)}${e.metrics?.['rewards/accuracies'] !== undefined ? ` acc ${e.metrics['rewards/accuracies'].toFixed(3)} margin ${(e.metrics['rewards/margins'] ?? 0).toFixed(4)}` : ''}`
    case 'score': return `  ${e.node} (${e.model} model, ${e.examples} held-out turns): ${Object.entries(e.metrics).map(([k, v]) => `${k} ${v === null ? '–' : v.toFixed(2)}`).join(', ')}`
    case 'checkpoint': return `  ${e.node} checkpoint at step ${e.step}: ${e.path}`
    case 'sample': return `  ${e.node} sample: ${JSON.stringify(e.prompt)} → ${JSON.stringify(e.completion)}`
    case 'log': return `${e.level === 'warn' ? '⚠ ' : ''}${e.node ? `${e.node}: ` : ''}${e.message}`
    case 'backend': return `backend: ${e.name} (${e.engine} on ${e.device}) — ${e.reason}`
    case 'artifact': return `  ${e.name} → ${e.path}`
  }
}

/**
 * A terminal renderer for run events: on a TTY, steps and node progress redraw one bar line in
 * place (step, loss, lr, tokens/s, ETA); otherwise every event is one plain line. Pass it as
 * `runGraph`'s `onEvent`.
 */
export function createProgressRenderer(opts: ProgressOptions = {}): (event: RunEvent) => void {
  const write = opts.write ?? ((text: string) => void process.stdout.write(text))
  const tty = opts.tty ?? process.stdout.isTTY === true
  const columns = opts.columns ?? process.stdout.columns ?? 100
  let barShown = false
  const clearBar = (): void => {
    if (barShown) write('\r\x1b[2K')
    barShown = false
  }
  return (e) => {
    if (tty && (e.type === 'step' || e.type === 'node-progress')) {
      const done = e.type === 'step' ? e.step : e.done
      const total = e.type === 'step' ? e.totalSteps : e.total ?? 0
      const text = e.type === 'step' ? stepText(e) : `${e.done}${e.total !== undefined ? `/${e.total}` : ''} ${e.unit}`
      const line = `${e.node} ${bar(done, total, 20)} ${text}`
      write(`\r\x1b[2K${line.slice(0, Math.max(20, columns - 1))}`)
      barShown = true
      return
    }
    const line = describeEvent(e)
    if (line === null) return
    clearBar()
    write(`${line}\n`)
  }
}
