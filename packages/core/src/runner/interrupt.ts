/** Milliseconds after a first signal during which more signals count as the same Ctrl-C. */
export const SIGNAL_BURST_MS = 1000

/** An abort signal wired to Ctrl-C, for `runGraph`'s `signal`. */
export interface InterruptHandle {
  signal: AbortSignal
  /** Removes the signal handlers (call when the run ends). */
  dispose: () => void
}

/**
 * The first SIGINT (or SIGTERM) aborts the signal, so the running node checkpoints and returns and
 * `runGraph` throws `Interrupted`; the caller then exits with 130. A second one (more than
 * {@link SIGNAL_BURST_MS} later) exits at once (130): finished artifacts are safe, the node in
 * progress is redone or resumed on the next run.
 */
export function interruptOnSignals(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'], onFirst?: (signal: NodeJS.Signals) => void): InterruptHandle {
  const controller = new AbortController()
  let firstAt = 0
  const handler = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      // One Ctrl-C can arrive as several signals (the process group, then npx or tsx relaying it).
      if (performance.now() - firstAt < SIGNAL_BURST_MS) return
      process.exit(130)
    }
    firstAt = performance.now()
    onFirst?.(signal)
    controller.abort()
  }
  for (const s of signals) process.on(s, handler)
  return { signal: controller.signal, dispose: () => signals.forEach((s) => process.off(s, handler)) }
}
