// Hostile run conditions, through the real pipeline on a tiny random model (hidden 64, 2 layers,
// the real Mistral tokenizer, 8 steps): a plan that does not fit, --force, a crash, a disk too
// small (a real tmpfs, mounted in a private mount namespace), a /proc or read-only output folder,
// NaN, concurrent runs, Ctrl-C under `npx tsx`, kill -9, a cache entry that is a file. Each case
// checks the catalog code, the exit code, and that nothing partial is left behind.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { constants, hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { compile, parseRecipe, type RunEvent } from '@tunekit/core'
import { readRecipeFile, runCli } from '@tunekit/cli'

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'packages/cli/bin/tunekit.js')
const work = mkdtempSync(join(tmpdir(), 'tunekit-hostile-'))
// Recipe files live in `work`; a link to the checkout's node_modules lets them import @tunekit/core.
symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'), 'dir')

interface RecipeOptions {
  run: string
  cache: string
  lora?: string
  args?: string
  merge?: boolean
}

/** Writes a recipe file for the tiny model; the `…` options are spliced into its groups as code. */
function writeRecipe(name: string, o: RecipeOptions): string {
  const file = join(work, `${name}.mts`)
  writeFileSync(file, `import { defineRecipe, inline } from '@tunekit/core'
import { main } from '@tunekit/cli'
const records = Array.from({ length: 16 }, (_, i) => ({ instruction: \`Say the number \${i} twice\`, output: \`\${i} \${i}\` }))
export const recipe = defineRecipe({
  name: 'hostile',
  model: {
    id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
    random: { seed: 0, tokenizer: 'mistral', config: { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 } },
  },
  tokens: { chatml: true },
  lora: { rank: 4, alpha: 8, dropout: 0, trainableTokens: true, ${o.lora ?? ''} },
  data: { source: inline(records), format: 'alpaca', maxLength: 48, split: { eval: 0 } },
  args: { maxSteps: 8, batchSize: 4, evalEvery: 'never', saveEvery: 2, logEvery: 1, ${o.args ?? ''} },
  backend: 'tfjs',
  output: { dir: ${JSON.stringify(o.run)}, cacheDir: ${JSON.stringify(o.cache)}, merge: ${o.merge ?? false} },
})
await main(import.meta, recipe)
`)
  return file
}

/** Folders for one case: its run folder and cache. */
function dirs(name: string): { run: string; cache: string } {
  const base = join(work, name)
  return { run: join(base, 'run'), cache: join(base, 'cache') }
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(args, { cwd: work, out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

/** A process started in its own process group, with its output and its exit status as a shell reports it. */
interface Started {
  pid: number
  out: () => string
  err: () => string
  /** Resolves with the status a shell shows ($?): the exit code, or 128 + the signal number. */
  done: Promise<number>
  onLine: (fn: (line: string) => void) => void
}

function start(cmd: string, args: string[]): Started {
  const child = spawn(cmd, args, { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  let out = ''
  let err = ''
  let pending = ''
  const listeners: ((line: string) => void)[] = []
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    pending += d.toString()
    const lines = pending.split('\n')
    pending = lines.pop()!
    for (const line of lines) listeners.forEach((fn) => fn(line))
  })
  child.stderr.on('data', (d: Buffer) => void (err += d.toString()))
  const done = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? 128 + constants.signals[signal!])))
  return { pid: child.pid!, out: () => out, err: () => err, done, onLine: (fn) => void listeners.push(fn) }
}

const eventsOf = (text: string): RunEvent[] => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as RunEvent)
const readEvents = (runDir: string): RunEvent[] => eventsOf(readFileSync(join(runDir, 'events.jsonl'), 'utf8'))
const losses = (events: RunEvent[]): [number, number][] => events.flatMap((e) => (e.type === 'step' ? [[e.step, e.loss] as [number, number]] : []))
const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : [])

/** Nothing half-written: no temp folders, no key folder without its marker, no lock left. */
function expectNothingPartial(d: { run: string; cache: string }): void {
  expect(entries(join(d.cache, 'tmp'))).toEqual([])
  for (const name of entries(d.cache).filter((n) => /^[0-9a-f]{64}$/.test(n))) expect(existsSync(join(d.cache, name, '_done.json'))).toBe(true)
  expect(entries(d.cache).filter((n) => n.endsWith('.lock'))).toEqual([])
  expect(entries(d.run).filter((n) => n.endsWith('.lock') || n.includes('.tmp-'))).toEqual([])
}

/** The key of one node of a recipe file's graph. */
async function keyOf(file: string, node: string): Promise<string> {
  const recipe = parseRecipe(await readRecipeFile(file))
  const graph = await compile(recipe, { baseDir: work, cacheDir: recipe.output.cacheDir })
  return graph.nodes.find((n) => n.id === node)!.key
}

const latestCheckpoint = (workDir: string): number => Math.max(...entries(workDir).filter((n) => /^checkpoint-\d+$/.test(n)).map((n) => Number(n.slice(11))))

// The reference every resumed run must reproduce: the 8 losses of an uninterrupted run.
let reference: Promise<[number, number][]> | undefined
function uninterrupted(): Promise<[number, number][]> {
  reference ??= (async () => {
    const d = dirs('reference')
    const r = await cli('run', writeRecipe('reference', d), '--json')
    expect(r.code).toBe(0)
    return losses(eventsOf(r.out))
  })()
  return reference
}

describe('the plan stops the run', () => {
  it('a plan that does not fit the device stops before the first node, with the key to change', async () => {
    const d = dirs('too-big')
    const r = await cli('run', writeRecipe('too-big', { ...d, lora: 'rank: 1e9' }))
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/^Cannot run hostile: the plan says it would fail\n✖ TK430 the plan needs [\d.]+ GB of wasm memory \(tfjs-wasm\) and this machine has [\d.]+ GB \(the largest part: adapters, their gradients and optimizer states [\d.]+ GB\), so the run would fail part-way → at lora\.rank\n {2}value: 1000000000\n/m)
    expect(r.err).toContain('To run anyway, pass --force.')
    expect(existsSync(join(d.run, 'events.jsonl'))).toBe(false) // no node ran, not even the model
    expect(entries(d.cache)).toEqual([])
  })

  it('NaN is quoted as NaN', async () => {
    const d = dirs('nan')
    const r = await cli('run', writeRecipe('nan', { ...d, args: 'learningRate: NaN' }))
    expect(r.code).toBe(1)
    expect(r.err).toMatchInlineSnapshot(`
      "Recipe has 1 problem
      ✖ TK101 expected number, received NaN → at args.learningRate
        value: NaN
        fix: Give a value of the expected type; hover the key in your editor to see its documentation.
      "
    `)
    expect(existsSync(d.run)).toBe(false)
  })
})

describe('folders that cannot hold a run', () => {
  it('output.dir under /proc is an error at once, not a mkdir loop', async () => {
    const d = { run: '/proc/tunekit-run', cache: dirs('proc').cache }
    const r = await cli('run', writeRecipe('proc', d), '--until', 'source')
    expect(r.code).toBe(1)
    expect(r.err).toMatchInlineSnapshot(`
      "A folder of the run cannot be written
      ✖ TK433 "/proc/tunekit-run" cannot hold the run's files: /proc is on procfs (/proc), which holds no files → at output.dir
        value: "/proc/tunekit-run"
        fix: Set output.dir to a folder you can write on a real disk (not /proc, /sys or a read-only mount).
      "
    `)
    expect(existsSync(d.cache)).toBe(false) // every folder is checked before any is made
  })

  it('output.dir that is a file', async () => {
    const d = dirs('file-dir')
    mkdirSync(join(work, 'file-dir'), { recursive: true })
    writeFileSync(join(work, 'file-dir', 'run'), 'not a folder')
    const r = await cli('run', writeRecipe('file-dir', d), '--until', 'source')
    expect(r.code).toBe(1)
    expect(r.err.replaceAll(work, '$WORK')).toContain(`✖ TK433 "$WORK/file-dir/run" cannot hold the run's files: $WORK/file-dir/run is a file, not a folder → at output.dir`)
    expect(readFileSync(join(work, 'file-dir', 'run'), 'utf8')).toBe('not a folder')
  })

  it('a cache entry that is a file stops the run before any node, and is left for the user', async () => {
    const d = dirs('cache-file')
    const file = writeRecipe('cache-file', d)
    const key = await keyOf(file, 'format')
    mkdirSync(d.cache, { recursive: true })
    writeFileSync(join(d.cache, key), 'junk')
    const r = await cli('run', file, '--until', 'format')
    expect(r.code).toBe(1)
    expect(r.err.replaceAll(d.cache, '$CACHE')).toContain(`✖ TK435 "$CACHE/${key}" should be an artifact folder and is a file → at output.cacheDir`)
    expect(existsSync(join(d.run, 'events.jsonl'))).toBe(false)
    expect(readFileSync(join(d.cache, key), 'utf8')).toBe('junk')
  })
})

describe('a bug in tunekit', () => {
  it('a non-catalog exception in a node exits 2 with the node, the trace and a crash log', async () => {
    const d = dirs('crash')
    const file = writeRecipe('crash', d)
    expect((await cli('run', file, '--until', 'collate')).code).toBe(0)
    // A batch plan that is not JSON: the train executor's JSON.parse throws a SyntaxError.
    writeFileSync(join(d.cache, await keyOf(file, 'collate'), 'plan.json'), '{')
    const r = await cli('run', file, '--only', 'train')
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^tunekit crashed in node train; this is a bug in tunekit, please report it with the trace below\.\nNodeCrash: node train crashed: .*JSON.*\nSyntaxError: .*\n {4}at /)
    const log = /the trace is also in (.+crash-.+\.log)\n$/.exec(r.err)?.[1]
    expect(log?.startsWith(join(d.run, 'crash-'))).toBe(true)
    expect(readFileSync(log!, 'utf8')).toMatch(/^tunekit crash: node train of recipe hostile threw an error that is not a tunekit error[^]*\nSyntaxError: [^]*\n {4}at /)
    expect(readEvents(d.run).at(-1)).toMatchObject({ type: 'run-end', ok: false, code: 'TK405' })
    expect(existsSync(join(d.cache, await keyOf(file, 'train')))).toBe(false)
    expectNothingPartial(d)
  })
})

describe('locks', () => {
  it('two runs of one folder and a third of another, at once: each key computed once, events never interleaved', async () => {
    const shared = dirs('concurrent')
    const other = { run: join(work, 'concurrent', 'run-2'), cache: shared.cache }
    const [a, b, c] = [writeRecipe('concurrent', shared), writeRecipe('concurrent', shared), writeRecipe('concurrent-2', other)].map((f) => start(process.execPath, [bin, 'run', f, '--json']))
    expect(await Promise.all([a!.done, b!.done, c!.done])).toEqual([0, 0, 0])
    const sharedEvents = readEvents(shared.run)
    // Two whole runs, one after the other, in the shared events.jsonl.
    expect(sharedEvents.filter((e) => e.type === 'run-start' || e.type === 'run-end').map((e) => e.type)).toEqual(['run-start', 'run-end', 'run-start', 'run-end'])
    const second = sharedEvents.slice(sharedEvents.findLastIndex((e) => e.type === 'run-start'))
    expect(second.some((e) => e.type === 'node-start')).toBe(false) // the second run found everything cached
    const waited = [a!, b!].filter((p) => p.out().includes('"message":"waiting for the run folder'))
    expect(waited).toHaveLength(1)
    // Across both run folders (one cache), every node ran exactly once.
    const started = [...sharedEvents, ...readEvents(other.run)].flatMap((e) => (e.type === 'node-start' ? [e.node] : []))
    expect(started.sort()).toEqual(['collate', 'format', 'model', 'source', 'split', 'tokenize', 'train'])
    expectNothingPartial(shared)
    expectNothingPartial(other)
  })

  it('--no-wait fails naming the holder; a dead holder\'s lock is taken over', async () => {
    const d = dirs('locked')
    const file = writeRecipe('locked', d)
    mkdirSync(d.run, { recursive: true })
    const lock = join(d.run, '.tunekit.lock')
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }))
    const r = await cli('run', file, '--until', 'source', '--no-wait')
    expect(r.code).toBe(1)
    expect(r.err.replaceAll(d.run, '$RUN').replace(`pid ${process.pid} on ${hostname()}`, 'pid $PID on $HOST')).toMatchInlineSnapshot(`
      "Another run holds the lock
      ✖ TK434 the run folder $RUN is in use by pid $PID on $HOST since 2026-01-01T00:00:00.000Z
        value: "$RUN/.tunekit.lock"
        fix: Wait for that run to finish (run again without --no-wait to wait for it), or use another output.dir; a lock of a process that is gone is taken over by itself.
      "
    `)
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
    writeFileSync(lock, JSON.stringify({ pid: Number(dead), host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }))
    const taken = await cli('run', file, '--until', 'source')
    expect(taken.code).toBe(0)
    expectNothingPartial(d)
  })
})

describe('interrupted runs resume to the uninterrupted result', () => {
  it('Ctrl-C under `npx tsx recipe.ts`: exit 130, "interrupted", a checkpoint; the rerun resumes with the same losses', async () => {
    const d = dirs('sigint')
    const file = writeRecipe('sigint', d)
    const p = start('npx', ['tsx', file, '--json'])
    let sent = false
    p.onLine((line) => {
      if (!sent && line.includes('"type":"step"') && line.includes('"step":2,')) {
        sent = true
        process.kill(-p.pid, 'SIGINT') // as a terminal's Ctrl-C: the whole process group
      }
    })
    expect(await p.done).toBe(130)
    expect(p.err()).toContain('Interrupted: stopping at the next safe point')
    expect(p.err()).toContain('✖ TK404 the run was interrupted during train; progress was checkpointed → at train')
    const before = losses(eventsOf(p.out()))
    const workDir = join(d.cache, `${await keyOf(file, 'train')}.work`)
    const stopped = latestCheckpoint(workDir)
    expect(stopped).toBe(before.at(-1)![0]) // the checkpoint holds the last step taken
    expect(stopped).toBeLessThan(8)
    expect(readEvents(d.run).at(-1)).toMatchObject({ type: 'run-end', ok: false, code: 'TK404' })
    expectNothingPartial(d)

    const again = await cli('run', file, '--json')
    expect(again.code).toBe(0)
    const after = losses(eventsOf(again.out))
    expect(after[0]![0]).toBe(stopped + 1)
    expect([...before, ...after]).toEqual(await uninterrupted())
    expectNothingPartial(d)
  })

  it('kill -9 mid-training: the rerun takes over the dead locks and resumes from the last checkpoint', async () => {
    const d = dirs('kill9')
    const file = writeRecipe('kill9', d)
    const p = start(process.execPath, [bin, 'run', file, '--json'])
    let sent = false
    p.onLine((line) => {
      if (!sent && line.includes('"type":"checkpoint"')) {
        sent = true
        process.kill(-p.pid, 'SIGKILL')
      }
    })
    expect(await p.done).toBe(128 + constants.signals.SIGKILL)
    const trainKey = await keyOf(file, 'train')
    expect(existsSync(join(d.run, '.tunekit.lock'))).toBe(true) // left by the dead process
    const stopped = latestCheckpoint(join(d.cache, `${trainKey}.work`))
    const before = losses(eventsOf(p.out())).filter(([step]) => step <= stopped)

    const again = await cli('run', file, '--json')
    expect(again.code).toBe(0)
    const after = losses(eventsOf(again.out))
    expect(after[0]![0]).toBe(stopped + 1)
    expect([...before, ...after]).toEqual(await uninterrupted())
    expectNothingPartial(d)
  })
})

// A small disk and a read-only one, for real: tmpfs mounts in a private mount namespace
// (`unshare -rm`: an unprivileged user namespace, so no root is needed and nothing outside sees them).
describe('disks that are too small or read-only', () => {
  it('the estimate stops the run; --force hits ENOSPC as DiskFull, train stays cached; with more space the rerun finishes', () => {
    const base = join(work, 'disk')
    const small = join(base, 'small')
    const ro = join(base, 'ro')
    const logs = join(base, 'logs')
    for (const dir of [small, ro, logs]) mkdirSync(dir, { recursive: true })
    const d = { run: join(base, 'run'), cache: small }
    // 30 MiB: the model (16.7 MB) and its copies fit, the merged model (16.7 MB more) does not.
    const file = writeRecipe('disk', { ...d, merge: true })
    const roFile = writeRecipe('disk-ro', { run: join(ro, 'run'), cache: join(base, 'cache-ro') })
    const tunekit = (name: string, f: string, ...args: string[]): string =>
      `"${process.execPath}" "${bin}" run "${f}" ${args.join(' ')} > "${logs}/${name}.out" 2> "${logs}/${name}.err"; echo "${name} $?"; find "${small}" -mindepth 1 -maxdepth 2 | sort | sed 's/^/  /'`
    const script = [
      'set -u',
      `mount -t tmpfs -o size=30m tmpfs "${small}"`,
      `mount -t tmpfs -o ro,size=1m tmpfs "${ro}"`,
      tunekit('estimate', file),
      tunekit('force', file, '--force'),
      `mount -o remount,size=128m "${small}"`,
      tunekit('rerun', file, '--json'),
      tunekit('readonly', roFile, '--until', 'source'),
    ].join('\n')
    const r = spawnSync('unshare', ['-rm', 'sh', '-c', script], { cwd: root, encoding: 'utf8' })
    expect(r.stderr).toBe('')
    const log = (name: string, ext: 'out' | 'err'): string => readFileSync(join(logs, `${name}.${ext}`), 'utf8').replaceAll(small, '$CACHE').replaceAll(ro, '$RO')
    const status = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(r.stdout)?.[1])
    const listing = (name: string): string[] => r.stdout.split(/^\w+ \d+$/m)[['estimate', 'force', 'rerun', 'readonly'].indexOf(name) + 1]!.trim().split('\n').map((l) => l.trim().replace(`${small}/`, ''))

    expect(status('estimate')).toBe(1)
    expect(log('estimate', 'err')).toMatch(/^Cannot run hostile: the plan says it would fail\n✖ TK431 the run writes about 3\d\.\d MB under "\$CACHE" \(model 16\.7 MB, shards [\d.]+ KB, adapter [\d.]+ KB, checkpoints [\d.]+ KB, merged 16\.7 MB\) and only 3\d\.\d MB is free there → at output\.cacheDir\n/)
    expect(listing('estimate')).toEqual(['']) // nothing written

    expect(status('force')).toBe(1)
    expect(log('force', 'err')).toMatch(/\n✖ TK432 merge could not write under "\$CACHE": no space left on the device \(the run needs about 3\d\.\d MB there\) → at merge\n/)
    const afterForce = listing('force')
    expect(afterForce).toContain('tmp')
    expect(afterForce.filter((n) => n.startsWith('tmp/'))).toEqual([]) // the merge's temp folder is gone
    expect(afterForce.filter((n) => /^[0-9a-f]{64}$/.test(n))).toHaveLength(7) // model … train, all committed

    expect(status('rerun')).toBe(0)
    const rerun = eventsOf(log('rerun', 'out'))
    expect(rerun.filter((e) => e.type === 'node-start').map((e) => e.type === 'node-start' && e.node)).toEqual(['merge']) // train was not repeated

    expect(status('readonly')).toBe(1)
    expect(log('readonly', 'err')).toContain(`✖ TK433 "$RO/run" cannot hold the run's files: $RO is on a read-only file system → at output.dir`)
  })

  it('ENOSPC at the end of training keeps its checkpoints: the rerun resumes at the last step instead of training again', () => {
    const base = join(work, 'disk-train')
    const small = join(base, 'small')
    const logs = join(base, 'logs')
    for (const dir of [small, logs]) mkdirSync(dir, { recursive: true })
    const file = writeRecipe('disk-train', { run: join(base, 'run'), cache: small })
    const tunekit = (name: string, ...args: string[]): string =>
      `"${process.execPath}" "${bin}" run "${file}" ${args.join(' ')} > "${logs}/${name}.out" 2> "${logs}/${name}.err"; echo "${name} $?"`
    const script = [
      'set -u',
      `mount -t tmpfs -o size=64m tmpfs "${small}"`,
      tunekit('data', '--until', 'collate'),
      // 256 KiB more than the data nodes use: train's checkpoints (≈ 30 KB each) fit, the
      // 1.2 MB tokenizer its adapter folder copies does not.
      `mount -o remount,size=$(( $(df -B1 --output=used "${small}" | tail -1) + 262144 )) "${small}"`,
      tunekit('train', '--json'),
      `ls "${small}"/*.work | grep checkpoint- | sed 's/^/  /'`,
      `mount -o remount,size=64m "${small}"`,
      tunekit('resume', '--json'),
    ].join('\n')
    const r = spawnSync('unshare', ['-rm', 'sh', '-c', script], { cwd: root, encoding: 'utf8' })
    expect(r.stderr).toBe('')
    const log = (name: string, ext: 'out' | 'err'): string => readFileSync(join(logs, `${name}.${ext}`), 'utf8').replaceAll(small, '$CACHE')
    const status = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(r.stdout)?.[1])
    expect(status('data')).toBe(0)
    expect(status('train')).toBe(1)
    expect(log('train', 'err')).toMatch(/\n✖ TK432 train could not write under "\$CACHE": no space left on the device \(the run needs about [\d.]+ KB there\) → at train\n/)
    expect(losses(eventsOf(log('train', 'out'))).map(([step]) => step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(r.stdout).toContain('  checkpoint-8\n') // kept, with the one before it
    expect(status('resume')).toBe(0)
    const resumed = eventsOf(log('resume', 'out'))
    expect(resumed.some((e) => e.type === 'log' && e.message.endsWith('resuming at step 8'))).toBe(true)
    expect(losses(resumed)).toEqual([]) // not one step trained again
  })
})
