/** Learning-rate schedules with the formulas of transformers' `get_*_schedule_with_warmup`. */
export type SchedulerKind = 'constant' | 'constant_with_warmup' | 'linear' | 'cosine'

/**
 * Multiplier of the base learning rate for the optimizer step that follows `step` completed
 * steps (transformers' lr_lambda(current_step); the first step uses step = 0).
 */
export function lrMultiplier(kind: SchedulerKind, step: number, warmupSteps: number, totalSteps: number): number {
  if (kind === 'constant') return 1
  if (step < warmupSteps) return step / Math.max(1, warmupSteps)
  if (kind === 'constant_with_warmup') return 1
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps)
  if (kind === 'linear') return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps))
  // cosine with num_cycles = 0.5: half a cosine from 1 to 0
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 2 * 0.5 * progress)))
}

/** Warmup steps as the Trainer resolves them: warmupSteps when set, else ceil(warmupRatio × total). */
export function warmupStepsOf(args: { warmupSteps: number; warmupRatio: number }, totalSteps: number): number {
  return args.warmupSteps > 0 ? args.warmupSteps : Math.ceil(args.warmupRatio * totalSteps)
}
