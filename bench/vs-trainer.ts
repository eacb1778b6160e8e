// tunekit's two backends against a transformers `Trainer` + PEFT on the same jobs (issue 21):
// tiny-chat (recipes/tiny-chat.ts) and bench/vs-trainer-job.ts (hidden 256, 4 layers, LoRA r16 +
// saved embed_tokens/lm_head, 400 samples of 150–250 tokens, batch 8, 60 steps), and the cost
// model's validation job bench/vs-trainer-long.ts (LoRA alone, rows of 300–500 tokens). The data nodes run
// once per job; then the train node runs on tfjs and on torch (`run --from train --until train`),
// and bench/trainer-peft.py trains from the same model folder, tokenizer, token shards and batch
// plan. Each run is one command whose process tree is polled, so peak memory is measured the same way
// for all three: the peak RSS of the largest process of the tree (tfjs: the node process; torch:
// the worker; Trainer: its Python). Before each run the plan's ETA and memory estimate are read
// (`plan --json`), to print their errors beside the measured figures.
//
// Run: npx tsx bench/vs-trainer.ts [--quick] [--validate | --record] [--only tiny-chat,vs-trainer-job,vs-trainer-long] [--backends tfjs,torch,trainer]
//      (--validate: fit the cost model of each tunekit backend on tiny-chat and vs-trainer-job, and
//      print every job's errors, bench/vs-trainer-long.ts's out of sample; --record: the same, the
//      fit written into packages/core/throughput.json and both tables into bench/README.md;
//      --from-json FILE: the table and fit of a saved run; --steps N or --steps job=N,…: jobs cut to N steps;
//      --out FILE: the JSON elsewhere)
//      (--quick: a few steps per job, a smoke run). Prints a Markdown table; writes
//      bench/vs-trainer.json (bench/results/vs-trainer-quick.json with --quick) after every run.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  artifactDir, costSeconds, familyInfo, trainMemory, writeFileAtomicSync, defaultThroughputFile, fitCalibration, processPeakBytes, recordCostModel, runCost, runShape, trainedParts,
  type CalibrationSample, type CostCalibration, type NodeParams, type Plan, type RunEvent,
} from '@tunekit/core'
import { benchPython } from './torch-train.ts'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = resolve(here, '..')
const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}

/**
 * A job: a recipe file, the steps --quick cuts it to, and whether the cost model is fitted on it
 * (`fit`) or only predicts it (`validate`: the out-of-sample check of --validate and --record).
 */
interface Job { name: string; file: string; quickSteps: number; role: 'fit' | 'validate' }
export const JOBS: readonly Job[] = [
  { name: 'tiny-chat', file: join(root, 'recipes', 'tiny-chat.ts'), quickSteps: 12, role: 'fit' },
  { name: 'vs-trainer-job', file: join(here, 'vs-trainer-job.ts'), quickSteps: 4, role: 'fit' },
  { name: 'vs-trainer-long', file: join(here, 'vs-trainer-long.ts'), quickSteps: 4, role: 'validate' },
]
const jobs = JOBS.filter((j) => !flag('--only') || flag('--only')!.split(',').includes(j.name))
const fittedOn = new Set(JOBS.filter((j) => j.role === 'fit').map((j) => j.name))

/** `--steps N` cuts every job to N steps; `--steps tiny-chat=40,vs-trainer-job=12` cuts the jobs named. */
function stepsOf(job: Job): string | undefined {
  const arg = flag('--steps')
  if (arg === undefined) return quick ? String(job.quickSteps) : undefined
  if (/^\d+$/.test(arg)) return arg
  return arg.split(',').map((kv) => kv.split('=')).find(([name]) => name === job.name)?.[1]
}
type Runner = 'tfjs' | 'torch' | 'trainer'
const runners = (flag('--backends')?.split(',') ?? ['tfjs', 'torch', 'trainer']) as Runner[]

/** One measured run. */
export interface VsRow {
  job: string
  runner: Runner
  /** 1-minute load average when the run started (other jobs on the machine slow every figure). */
  load: number
  steps: number
  /** Real (unpadded) tokens of the steps run; padded tokens are rows × length. */
  tokens: number
  paddedTokens: number
  /** Seconds of the train node (tunekit: worker start, model load, steps, saving) or of the whole Trainer script. */
  seconds: number
  tokensPerSecond: number
  /** Seconds from the end of step 1 to the end of the last step, and real tokens/s over those steps. */
  loopSeconds: number | null
  loopTokensPerSecond: number | null
  /** Peak RSS of the largest process of the run's command (GNU time's %M). */
  peakRssBytes: number
  /** CPU seconds (user + system, every thread) of the command's processes: against `seconds`, what the load took (1 core's worth per process when idle). */
  cpuSeconds?: number
  /** The plan's ETA and memory total before the run (tunekit rows). */
  planSeconds?: number | null
  planMemoryBytes?: number | null
  /** The plan's cost model input and memory total (tunekit rows), for --record's fit. */
  planned?: { model: Plan['model']; data: Plan['data']; memoryTotal: number | null; train: Pick<NodeParams<'train'>, 'method' | 'args'> & Partial<Pick<NodeParams<'train'>, 'model'>> }
}

interface Cmd { status: number; stdout: string; stderr: string; rssBytes: number; cpuSeconds: number }

/** Pids of `pid`'s descendants, `pid` included, from /proc's parent links (Linux). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      // stat: "pid (comm) state ppid …"; comm may hold spaces, so read after its closing parenthesis
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parent.set(ppid, [...(parent.get(ppid) ?? []), Number(name)])
    } catch { /* the process ended while we read */ }
  }
  const out = [pid]
  for (let i = 0; i < out.length; i++) out.push(...(parent.get(out[i]!) ?? []))
  return out
}

/** The process's CPU seconds so far (utime + stime of all its threads, in Linux's 100 Hz ticks); 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // from field 3 (state): utime is field 14, stime 15
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

/** The process's own peak resident set (VmHWM), in bytes; 0 once it is gone. */
function peakRss(pid: number): number {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kib ? Number(kib) * 1024 : 0
  } catch {
    return 0
  }
}

/**
 * Runs a command at nice 10 (bench/README.md: long runs leave the cores to others' tests) and
 * measures the peak RSS of the largest process of its tree: every 200 ms each descendant's VmHWM
 * (its own high-water mark, so a poll after the peak sees it). The same measure for all three
 * runners; GNU time's %M would miss the torch worker, which its parent does not wait for.
 */
async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Cmd> {
  const child = spawn('nice', ['-n', '10', cmd, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  let peak = 0
  const cpu = new Map<number, number>() // per pid, its last poll (within 200 ms of its end)
  const poll = (): void => {
    for (const pid of descendants(child.pid!)) {
      peak = Math.max(peak, peakRss(pid))
      cpu.set(pid, Math.max(cpu.get(pid) ?? 0, cpuSeconds(pid)))
    }
  }
  const timer = setInterval(poll, 200)
  const status = await new Promise<number>((done) => child.on('close', (code) => done(code ?? 1)))
  clearInterval(timer)
  return { status, stdout, stderr, rssBytes: peak, cpuSeconds: [...cpu.values()].reduce((a, b) => a + b, 0) }
}

function must(r: Cmd, what: string): Cmd {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${(r.stderr || r.stdout).slice(-3000)}`)
  return r
}

interface GraphNode { id: string; kind: string; key: string; params: Record<string, unknown> }
interface MicroBatch { length: number; rows: Array<Array<{ sample: number; start: number; length: number }>> }
interface BatchPlan { totalSteps: number; gradientAccumulationSteps: number; epochsPlan: Array<{ microBatches: MicroBatch[] }> }

/** Real and padded tokens of each step of the batch plan. */
function stepTokens(plan: BatchPlan): Array<{ real: number; padded: number }> {
  const micro = plan.epochsPlan.flatMap((e) => e.microBatches)
  const a = plan.gradientAccumulationSteps
  return Array.from({ length: plan.totalSteps }, (_, s) => {
    const mbs = micro.slice(s * a, (s + 1) * a)
    return {
      real: mbs.reduce((n, mb) => n + mb.rows.reduce((m, row) => m + row.reduce((k, seg) => k + seg.length, 0), 0), 0),
      padded: mbs.reduce((n, mb) => n + mb.length * mb.rows.length, 0),
    }
  })
}

const events = (stdout: string): RunEvent[] =>
  stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as RunEvent)

/** Loop time and tokens/s from step 1's end to the last step's end (step 1 warms up: kernels, allocations). */
function loopFigures(stepEnds: Array<{ step: number; time: number }>, perStep: Array<{ real: number }>): { loopSeconds: number | null; loopTokensPerSecond: number | null } {
  const first = stepEnds.find((e) => e.step === 1)
  const last = stepEnds.at(-1)
  if (!first || !last || last.step <= 1) return { loopSeconds: null, loopTokensPerSecond: null }
  const seconds = (last.time - first.time) / 1000
  const tokens = perStep.slice(1, last.step).reduce((n, s) => n + s.real, 0)
  return { loopSeconds: seconds, loopTokensPerSecond: tokens / seconds }
}

async function benchJob(job: Job, rows: VsRow[], save: () => void): Promise<void> {
  // a folder of this run's own: two benches at once (two worktrees) must not delete each other's cache
  const work = mkdtempSync(join(tmpdir(), `tk-vs-trainer-${job.name}${quick ? '-quick' : ''}-`))
  const cache = join(work, 'cache')
  const runDir = join(work, 'run')
  const steps = stepsOf(job)
  const sets = ['--set', `output.cacheDir=${cache}`, '--set', `output.dir=${runDir}`, ...(steps ? ['--set', `args.maxSteps=${steps}`] : [])]
  const tsx = join(root, 'node_modules', '.bin', 'tsx')
  must(await timed(tsx, [job.file, 'run', '--until', 'collate', ...sets]), `${job.name}: the data nodes`)
  const graph = JSON.parse(readFileSync(join(runDir, 'graph.json'), 'utf8')) as { nodes: GraphNode[] }
  const node = (id: string): GraphNode => graph.nodes.find((n) => n.id === id)!
  const dir = (id: string): string => artifactDir(cache, node(id).key)
  const plan = JSON.parse(readFileSync(join(dir('collate'), 'plan.json'), 'utf8')) as BatchPlan
  const perStep = stepTokens(plan)
  const tokens = perStep.reduce((n, s) => n + s.real, 0)
  const paddedTokens = perStep.reduce((n, s) => n + s.padded, 0)
  const base = { job: job.name, steps: plan.totalSteps, tokens, paddedTokens }

  for (const runner of runners) {
    const load = loadavg()[0]!
    console.error(`${job.name} on ${runner} (load ${load.toFixed(2)}) …`)
    if (runner === 'trainer') {
      const train = node('train').params as { method: Record<string, unknown>; args: Record<string, unknown> }
      const jobFile = join(work, 'trainer-job.json')
      const m = train.method
      writeFileSync(jobFile, JSON.stringify({
        modelDir: dir('model'), tokenizerDir: join(dir('tokenize'), 'tokenizer'), shardsDir: join(dir('split'), 'train'),
        planFile: join(dir('collate'), 'plan.json'), outDir: join(work, 'trainer-out'),
        lora: { rank: m.rank, alpha: m.alpha, dropout: m.dropout, targetModules: m.targetModules, modulesToSave: m.modulesToSave }, args: train.args,
      }))
      const r = must(await timed(benchPython, [join(here, 'trainer-peft.py'), jobFile], { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' }), `${job.name}: trainer-peft.py`)
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; stepEnds: Array<{ step: number; time: number }> }
      rows.push({ ...base, runner, load, seconds: out.seconds, tokensPerSecond: tokens / out.seconds, ...loopFigures(out.stepEnds, perStep), peakRssBytes: r.rssBytes, cpuSeconds: r.cpuSeconds })
    } else {
      const backend = ['--backend', runner]
      const planned = JSON.parse(must(await timed(tsx, [job.file, 'plan', '--json', ...backend, ...sets]), `${job.name}: plan`).stdout) as Plan
      const r = must(await timed(tsx, [job.file, 'run', '--from', 'train', '--until', 'train', '--json', ...backend, ...sets]), `${job.name}: train on ${runner}`)
      const evs = events(r.stdout)
      const end = evs.find((e): e is Extract<RunEvent, { type: 'node-end' }> => e.type === 'node-end' && e.node === 'train')
      if (!end) throw new Error(`${job.name} on ${runner}: no node-end event for train`)
      const stepEnds = evs.flatMap((e) => (e.type === 'step' && e.node === 'train' ? [{ step: e.step, time: e.time }] : []))
      rows.push({
        ...base, runner, load, seconds: end.seconds, tokensPerSecond: tokens / end.seconds, ...loopFigures(stepEnds, perStep), peakRssBytes: r.rssBytes, cpuSeconds: r.cpuSeconds,
        planSeconds: planned.eta.seconds, planMemoryBytes: planned.memory ? (planned.memory.process?.bytes ?? planned.memory.total) : null,
        planned: { model: planned.model, data: planned.data, memoryTotal: planned.memory?.total ?? null, train: node('train').params as unknown as NonNullable<VsRow['planned']>['train'] },
      })
    }
    save()
  }
  rmSync(work, { recursive: true, force: true })
}

const gb = (b: number): string => `${(b / 1e9).toFixed(2)} GB`
const pct = (planned: number | null | undefined, measured: number): string => (planned == null ? '–' : `${((planned / measured - 1) * 100).toFixed(0)}%`)

/** The Markdown table: one line per run, ratios against the Trainer's row of the same job. */
export function table(rows: readonly VsRow[]): string {
  const lines = [
    '| job | runner | load | train time | command CPU | tokens/s | loop tokens/s | × Trainer | peak RSS | plan ETA (error) | plan memory (error) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const r of rows) {
    const ref = rows.find((o) => o.job === r.job && o.runner === 'trainer')
    const ratio = ref ? `${(r.tokensPerSecond / ref.tokensPerSecond).toFixed(2)}×` : '–'
    const loop = r.loopTokensPerSecond == null ? '–' : r.loopTokensPerSecond.toFixed(0)
    const eta = r.planSeconds === undefined ? '–' : r.planSeconds === null ? 'unknown' : `${r.planSeconds.toFixed(1)} s (${pct(r.planSeconds, r.seconds)})`
    const mem = r.planMemoryBytes == null ? '–' : `${gb(r.planMemoryBytes)} (${pct(r.planMemoryBytes, r.peakRssBytes)})`
    const cpu = r.cpuSeconds === undefined ? '–' : `${r.cpuSeconds.toFixed(1)} s`
    lines.push(`| ${r.job} | ${r.runner} | ${r.load.toFixed(2)} | ${r.seconds.toFixed(1)} s | ${cpu} | ${r.tokensPerSecond.toFixed(0)} | ${loop} | ${ratio} | ${gb(r.peakRssBytes)} | ${eta} | ${mem} |`)
  }
  return lines.join('\n')
}

/**
 * A tunekit row's sample for the cost model: its run's cost and memory estimate from the plan's
 * recorded inputs (re-estimated with today's formulas, so a saved run checks a changed model), its
 * step and node times, its peak.
 */
function sampleOf(r: VsRow, backend: 'tfjs' | 'torch'): CalibrationSample {
  const p = r.planned!
  const model = p.model as Extract<Plan['model'], { config: unknown }>
  const family = familyInfo(model.family)
  const target = { backend, device: backend === 'tfjs' ? 'wasm' : 'cpu', dtypes: ['float32'] } as const
  const estimateTotal = family && p.train.model ? trainMemory(family, model.config, model.params, p.train as Parameters<typeof trainMemory>[3], p.data, target).total : p.memoryTotal!
  return {
    cost: runCost(model.config, model.params, trainedParts(p.train), runShape(p.data, p.train, backend, target.device, family)),
    // the loop's mean step (steps 2..N) over all N steps: step 1's warm-up counts in the start-up
    stepSeconds: (r.loopSeconds! * r.steps) / (r.steps - 1), seconds: r.seconds, peakRssBytes: r.peakRssBytes, estimateTotal,
  }
}

/**
 * The cost model's calibration of each tunekit backend (cost-model.ts), fitted on the rows of the
 * `fit` jobs only (the speeds to their step times, the start-up to what the steps leave of the
 * node's time, the RSS line through their peaks), and the table of its errors on every row: the
 * fitted jobs in sample, the `validate` job (bench/vs-trainer-long.ts) out of sample. `record`:
 * the calibrations go into packages/core/throughput.json.
 */
export function calibrate(rows: readonly VsRow[], measuredAt: string, bench: string, record: boolean): { lines: string[]; calibrations: CostCalibration[] } {
  const lines = [
    '| job | backend | load | sample | measured train time | ETA, calibrated (error) | measured peak RSS | memory, calibrated (error) |',
    '|---|---|---|---|---|---|---|---|',
  ]
  const calibrations: CostCalibration[] = []
  for (const backend of ['tfjs', 'torch'] as const) {
    const mine = rows.filter((r) => r.runner === backend && r.planned && 'config' in r.planned.model && r.loopSeconds !== null && r.planned.memoryTotal !== null)
    const fitRows = mine.filter((r) => fittedOn.has(r.job))
    if (fitRows.length === 0) continue
    const engine = backend === 'tfjs' ? 'tfjs-wasm' : 'torch-cpu'
    const device = backend === 'tfjs' ? 'wasm' : 'cpu'
    const load = fitRows.reduce((n, r) => n + r.load, 0) / fitRows.length
    const cal: CostCalibration = { backend, engine, device, ...fitCalibration(fitRows.map((r) => sampleOf(r, backend))), load, measuredAt, bench }
    calibrations.push(cal)
    if (record) recordCostModel(defaultThroughputFile(), cal)
    for (const r of mine) {
      const sample = sampleOf(r, backend)
      const eta = costSeconds(sample.cost, cal)
      const peak = processPeakBytes(sample.estimateTotal, cal)
      const kind = fittedOn.has(r.job) ? 'fitted on' : '**out of sample**'
      lines.push(`| ${r.job} | ${backend} | ${r.load.toFixed(2)} | ${kind} | ${r.seconds.toFixed(1)} s | ${eta.toFixed(1)} s (${pct(eta, r.seconds)}) | ${gb(r.peakRssBytes)} | ${gb(peak)} (${pct(peak, r.peakRssBytes)}) |`)
    }
  }
  return { lines, calibrations }
}

/** The calibrations as the README lists them: the five numbers per backend. */
const calibrationLines = (cals: readonly CostCalibration[]): string[] => [
  '| backend | matmul GFLOP/s | G element passes/s | start-up | RSS base | RSS scale | load (fitted runs) | speeds |',
  '|---|---|---|---|---|---|---|---|',
  // fitCalibration falls back to one speed for both kinds when the two jobs do not separate them
  ...cals.map((c) => `| ${c.engine} | ${(c.matmulFlopsPerSecond / 1e9).toFixed(1)} | ${(c.elementsPerSecond / 1e9).toFixed(3)} | ${c.startSeconds.toFixed(1)} s | ${gb(c.rssBaseBytes)} | ${c.rssScale.toFixed(2)} | ${c.load.toFixed(2)} | ${c.matmulFlopsPerSecond === c.elementsPerSecond ? 'one for both (not separated)' : 'two'} |`),
]

const BEGIN = '<!-- vs-trainer --record: begin (written by bench/vs-trainer.ts --record) -->'
const END = '<!-- vs-trainer --record: end -->'

/** Replaces bench/README.md's recorded section (between BEGIN and END) with `body`, through a temp file and a rename. */
function writeReadmeSection(body: string): void {
  const file = join(here, 'README.md')
  const text = readFileSync(file, 'utf8')
  const a = text.indexOf(BEGIN)
  const b = text.indexOf(END)
  if (a < 0 || b < a) throw new Error(`bench/README.md has no ${BEGIN} … ${END} section to write`)
  writeFileAtomicSync(file, `${text.slice(0, a + BEGIN.length)}\n${body}\n${text.slice(b)}`)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const resultsDir = join(here, 'results')
  mkdirSync(resultsDir, { recursive: true })
  // --from-json FILE: the table (and --record's fit) of a saved run, without running anything
  const saved = flag('--from-json')
  const old = saved ? (JSON.parse(readFileSync(saved, 'utf8')) as { measuredAt: string; quick: boolean; rows: VsRow[] }) : null
  const rows: VsRow[] = old ? old.rows : []
  const measuredAt = old?.measuredAt ?? new Date().toISOString()
  if (!old) {
    // the full run's JSON is committed beside this file; --quick's goes to the ignored results folder
    const file = flag('--out') ?? (quick ? join(resultsDir, 'vs-trainer-quick.json') : join(here, 'vs-trainer.json'))
    const save = (): void => writeFileSync(file, `${JSON.stringify({ measuredAt, quick, cores: availableParallelism(), rows }, null, 2)}\n`)
    for (const job of jobs) await benchJob(job, rows, save)
  }
  console.log(table(rows))
  // --validate: fit on the `fit` jobs and print every job's errors, the `validate` job's out of
  // sample; --record does the same, writes the fit into throughput.json and both tables into bench/README.md
  const record = argv.includes('--record')
  if (record || argv.includes('--validate')) {
    const { lines, calibrations } = calibrate(rows, measuredAt.slice(0, 10), `npx tsx bench/vs-trainer.ts${quick || old?.quick ? ' --quick' : ''} --record`, record)
    const loads = rows.map((r) => r.load)
    const body = [
      `Measured ${measuredAt.slice(0, 10)} (\`${['npx tsx bench/vs-trainer.ts', ...argv].join(' ')}\`), ${availableParallelism()} cores, 1-minute load ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} at the runs' starts. ` +
        'The plan columns are the plan before this fit.',
      '', table(rows), '',
      `The cost model fitted on ${[...fittedOn].join(' and ')} (packages/core/throughput.json):`, '', ...calibrationLines(calibrations), '',
      'Its errors: in sample on the fitted jobs, out of sample on bench/vs-trainer-long.ts (a job the fit never saw):', '', ...lines,
    ].join('\n')
    console.log(`\n${body}`)
    if (record) writeReadmeSection(body)
  }
}
