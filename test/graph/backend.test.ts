import { describe, expect, it } from 'vitest'
import { createProgressRenderer, resolveBackend, type BackendCapabilities, type BackendProbe, type RunEvent } from '@tunekit/core'

const caps = (engine: string, device: BackendCapabilities['device'], reason: string): BackendCapabilities => ({
  engine, device, reason, dtypes: device === 'cuda' ? ['float32', 'bfloat16'] : ['float32'], quantize: device === 'cuda' ? ['nf4'] : [],
})
const probe = (name: 'tfjs' | 'torch', result: BackendCapabilities | Error): BackendProbe => ({
  name,
  capabilities: async () => {
    if (result instanceof Error) throw result
    return result
  },
})
const tfjs = probe('tfjs', caps('tfjs-wasm', 'wasm', 'tfjs-node did not load; wasm did'))
const torchCuda = probe('torch', caps('torch-cuda', 'cuda', 'torch 2.11 with CUDA 12.4, 1 × H100'))
const torchCpu = probe('torch', caps('torch-cpu', 'cpu', 'torch 2.11 without CUDA'))
const torchMissing = probe('torch', new Error('python3 has no torch module'))

describe('resolveBackend', () => {
  it("'auto' takes torch when it reports CUDA, else tfjs, and says why", async () => {
    const gpu = await resolveBackend({ backend: 'auto', device: 'auto' }, [tfjs, torchCuda])
    expect([gpu.backend.name, gpu.reason]).toEqual(['torch', 'auto: torch reports a CUDA device (torch-cuda: torch 2.11 with CUDA 12.4, 1 × H100)'])
    const cpu = await resolveBackend({ backend: 'auto', device: 'auto' }, [tfjs, torchCpu])
    expect([cpu.backend.name, cpu.reason]).toEqual(['tfjs', 'auto: torch reports cpu, not CUDA, so tfjs (tfjs-wasm: tfjs-node did not load; wasm did)'])
    const none = await resolveBackend({ backend: 'auto', device: 'auto' }, [tfjs, torchMissing])
    expect(none.reason).toBe('auto: torch is unavailable (python3 has no torch module), so tfjs (tfjs-wasm: tfjs-node did not load; wasm did)')
    expect(none.considered).toEqual([{ name: 'tfjs', capabilities: caps('tfjs-wasm', 'wasm', 'tfjs-node did not load; wasm did') }, { name: 'torch', error: 'python3 has no torch module' }])
    expect((await resolveBackend({ backend: 'auto', device: 'auto' }, [torchCpu])).reason).toBe('auto: tfjs is unavailable, so torch on cpu')
  })

  it('an explicit backend must be there and offer the device', async () => {
    expect((await resolveBackend({ backend: 'tfjs', device: 'auto' }, [tfjs, torchCuda])).backend.name).toBe('tfjs')
    await expect(resolveBackend({ backend: 'torch', device: 'auto' }, [tfjs, torchMissing])).rejects.toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: Backend not available
      ✖ TK402 the torch backend cannot run here: python3 has no torch module → at backend
        value: "torch"
        fix: Install the torch worker's Python environment (see @tunekit/torch's README), or set backend: 'tfjs'.]
    `)
    await expect(resolveBackend({ backend: 'torch', device: 'cuda' }, [torchCpu])).rejects.toThrow(/TK402 the torch backend cannot run here: it runs on cpu here \(torch-cpu\), not on cuda/)
    await expect(resolveBackend({ backend: 'auto', device: 'auto' }, [])).rejects.toThrow(/TK402 the auto backend cannot run here: no backend is installed/)
  })
})

describe('progress renderer', () => {
  const step = (n: number): RunEvent => ({ type: 'step', time: 0, node: 'train', step: n, totalSteps: 4, epoch: n / 2, loss: 1 / n, learningRate: 2e-4, gradNorm: 0.5, tokensPerSecond: 1500, etaSeconds: (4 - n) * 30 })
  const events: RunEvent[] = [
    { type: 'run-start', time: 0, recipe: 'tiny', nodes: ['collate', 'train'] },
    { type: 'node-cached', time: 0, node: 'collate', key: 'ab'.repeat(32) },
    { type: 'node-start', time: 0, node: 'train', key: 'cd'.repeat(32) },
    step(1), step(2),
    { type: 'node-end', time: 0, node: 'train', key: 'cd'.repeat(32), seconds: 75 },
  ]

  it('prints plain lines off a terminal', () => {
    let out = ''
    const render = createProgressRenderer({ tty: false, write: (t) => (out += t) })
    events.forEach(render)
    expect(out).toMatchInlineSnapshot(`
      "run tiny: collate → train
      ✔ collate cached (abababababab)
      ▶ train (cdcdcdcdcdcd)
        train step 1/4 epoch 0.50 loss 1.0000 lr 2.00e-4 grad 0.500 1.5k tok/s ETA 1m 30s
        train step 2/4 epoch 1.00 loss 0.5000 lr 2.00e-4 grad 0.500 1.5k tok/s ETA 1m 00s
      ✔ train done in 1m 15s
      "
    `)
  })

  it('redraws one bar line on a terminal', () => {
    let out = ''
    const render = createProgressRenderer({ tty: true, columns: 200, write: (t) => (out += t) })
    events.forEach(render)
    expect(out.split('\r\x1b[2K')).toEqual([
      'run tiny: collate → train\n✔ collate cached (abababababab)\n▶ train (cdcdcdcdcdcd)\n',
      'train █████░░░░░░░░░░░░░░░ step 1/4 epoch 0.50 loss 1.0000 lr 2.00e-4 grad 0.500 1.5k tok/s ETA 1m 30s',
      'train ██████████░░░░░░░░░░ step 2/4 epoch 1.00 loss 0.5000 lr 2.00e-4 grad 0.500 1.5k tok/s ETA 1m 00s',
      '✔ train done in 1m 15s\n',
    ])
  })

  it("shows the backend's tensor bytes and the process's resident set", () => {
    let out = ''
    const render = createProgressRenderer({ tty: false, write: (t) => (out += t) })
    render({ type: 'step', time: 0, node: 'train', step: 1, totalSteps: 4, epoch: 0.5, loss: 1, learningRate: 2e-4, gradNorm: 0.5, tokensPerSecond: 1500, memoryBytes: 0.38e9, rssBytes: 3.25e9 })
    expect(out).toContain('1.5k tok/s mem 0.38GB rss 3.25GB')
  })
})
