/** Events of a run, written as JSON lines to `events.jsonl` and shown on the terminal. */
export type RunEvent =
  | { type: 'run-start'; time: number; recipe: string; nodes: string[] }
  | { type: 'run-end'; time: number; ok: boolean; code?: string }
  | { type: 'node-start'; time: number; node: string; key: string }
  | { type: 'node-cached'; time: number; node: string; key: string }
  | { type: 'node-end'; time: number; node: string; key: string; seconds: number }
  | { type: 'node-progress'; time: number; node: string; done: number; total?: number; unit: string }
  | {
      type: 'step'
      time: number
      node: string
      step: number
      totalSteps: number
      epoch: number
      loss: number
      learningRate: number
      gradNorm: number
      tokensPerSecond: number
      /** Bytes in use by the backend (tensors), when known. */
      memoryBytes?: number
      /** Resident set size of the process that trains (bytes, at this step): what the machine really gives it. */
      rssBytes?: number
      /** Seconds left, from the average step time so far. */
      etaSeconds?: number
      /**
       * The objective's own metrics, means over the step's examples, named as TRL logs them: a
       * preference stage's `rewards/chosen`, `rewards/rejected`, `rewards/accuracies`,
       * `rewards/margins`, `logps/chosen`, `logps/rejected`; kto's `kl` and its rewards and logps
       * over the step's desirable (chosen) or undesirable (rejected) examples, absent when it has none.
       */
      metrics?: { [name: string]: number }
    }
  /** Eval loss (mean token cross-entropy, nats) during training, or from the `eval` node (with perplexity = exp(loss) and the labelled tokens). */
  | { type: 'eval'; time: number; node: string; step: number; epoch: number; loss: number; perplexity?: number; tokens?: number; metrics?: { [name: string]: number } }
  /** Generation metrics of the `score` node (`report.json`): which model answered, how many held-out turns, metric → percent. */
  | { type: 'score'; time: number; node: string; model: 'trained' | 'base'; examples: number; metrics: { [metric: string]: number | null } }
  | { type: 'checkpoint'; time: number; node: string; step: number; path: string }
  | { type: 'sample'; time: number; node: string; prompt: string; completion: string }
  | { type: 'log'; time: number; node?: string; level: 'info' | 'warn'; message: string }
  /** The backend the run resolved to, and why (see `resolveBackend`). */
  | { type: 'backend'; time: number; name: string; engine: string; device: string; reason: string }
  /** A finished artifact linked or copied into the run folder. */
  | { type: 'artifact'; time: number; node: string; name: string; path: string }

/** Any event without its time; the runner stamps it. */
export type RunEventInput = RunEvent extends infer E ? (E extends { time: number } ? Omit<E, 'time'> : never) : never
