// The driver's environment checks and error mapping: what a user sees when Python, a package or
// CUDA is missing, and that the lock is what the worker checks against.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { NodeContext, RunEventInput } from '@tunekit/core'
import { createTorchBackend, findPython, LOCK_FILE, projectVenvPython, probeTorch, readLock, setupTorch, torchAutoChoice, versionMismatches } from '@tunekit/torch'
import { python, tempDir, tinyRecipe } from './helpers.ts'

describe('torch driver', { timeout: 300_000 }, () => {
  it('pins the tested versions in the lock', () => {
    expect(readLock()).toEqual({
      torch: '2.11.0', transformers: '5.23.0', peft: '0.21.2', accelerate: '1.15.0', safetensors: '0.8.0', numpy: '2.4.6', pillow: '13.0.0', tokenizers: '0.23.3', pytest: '9.2.0',
    })
    expect(versionMismatches({ torch: '2.11.0+cu130', transformers: '5.22.0', peft: null, accelerate: '1.15.0', safetensors: '0.8.0', numpy: '2.4.6', pillow: '13.0.0', tokenizers: '0.23.3' }))
      .toEqual(['transformers 5.22.0 installed, 5.23.0 tested', 'peft is missing (0.21.2 tested)'])
  })

  it('the CPU lock pins what the lock pins, every package of the environment, and no GPU-only package', () => {
    const cpu = readLock(join(dirname(LOCK_FILE), 'requirements-cpu.lock'))
    for (const [name, version] of Object.entries(readLock())) expect(cpu[name], name).toBe(version)
    // installed with --no-deps, so torch's own dependencies must be listed (sympy, jinja2, the nvidia-* libraries it links)
    for (const name of ['sympy', 'jinja2', 'filelock', 'huggingface-hub', 'nvidia-cublas', 'nvidia-cudnn-cu13']) expect(cpu, name).toHaveProperty([name])
    expect(Object.keys(cpu).filter((n) => n === 'triton' || n.startsWith('cuda-bindings'))).toEqual([])
  })

  it('finds the project\'s own .venv (made by tunekit) from any folder below it, without TUNEKIT_PYTHON', () => {
    const root = tempDir('project')
    const nested = join(root, 'recipes', 'deep')
    mkdirSync(join(root, '.venv', 'bin'), { recursive: true })
    mkdirSync(nested, { recursive: true })
    writeFileSync(join(root, '.venv', 'bin', 'python'), '')
    // a .venv tunekit did not build (no stamp) is not taken
    expect(projectVenvPython(nested)).toBeNull()
    writeFileSync(join(root, '.venv', '.tunekit-lock'), '')
    expect(projectVenvPython(nested)).toBe(join(root, '.venv', 'bin', 'python'))
    const saved = process.env.TUNEKIT_PYTHON
    delete process.env.TUNEKIT_PYTHON
    try {
      expect(findPython(undefined, nested)).toEqual({ python: join(root, '.venv', 'bin', 'python'), source: 'project' })
    } finally {
      if (saved !== undefined) process.env.TUNEKIT_PYTHON = saved
    }
  })

  it('names a missing Python and how to get one', async () => {
    const backend = createTorchBackend({ python: '/nonexistent/bin/python3' })
    await expect(backend.capabilities()).rejects.toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: No Python for the torch backend
      ✖ TK420 the torch backend needs Python 3.10+ with PyTorch; none was found (looked at /nonexistent/bin/python3 (ENOENT)) → at backend
        value: "/nonexistent/bin/python3"
        fix: Run \`tunekit setup torch\` to create a managed environment from the pinned lock, or set TUNEKIT_PYTHON to a Python that has the packages.]
    `)
    expect(await torchAutoChoice({ python: '/nonexistent/bin/python3' })).toEqual({ use: false, reason: 'no usable torch: No Python for the torch backend' })
  })

  it('names a Python without torch and the command that installs the lock', async () => {
    const bare = tempDir('bare')
    // a venv without packages (no pip needed: --without-pip keeps it fast)
    const { spawnSync } = await import('node:child_process')
    expect(spawnSync('python3', ['-m', 'venv', '--without-pip', bare]).status).toBe(0)
    const error = await probeTorch({ python: join(bare, 'bin', 'python') }).then(() => undefined, (e: unknown) => e as Error)
    expect(error?.message).toContain('TK421')
    expect(error?.message).toContain("import torch failed: No module named 'torch'")
    expect(error?.message).toContain(`fix: Run: ${join(bare, 'bin', 'python')} -m pip install -r ${LOCK_FILE}`)
  })

  it("setupTorch with an existing Python installs the lock (already satisfied) and checks it", async () => {
    const check = await setupTorch({ python, cuda: false })
    expect(check.mismatches).toEqual([])
    expect(check.probe.versions.peft).toBe('0.21.2')
  })

  it('refuses device cuda where torch has no CUDA, before starting a worker', async () => {
    const backend = createTorchBackend({ python })
    const probe = await probeTorch({ python })
    if (probe.cuda) return // a GPU machine: nothing to refuse
    expect(await torchAutoChoice({ python })).toEqual({ use: false, reason: `torch ${probe.versions.torch} at ${python} has no CUDA device` })
    const events: RunEventInput[] = []
    const recipe = tinyRecipe({ device: 'cuda' })
    const ctx = {
      node: { id: 'train', kind: 'train', params: {}, inputs: [], reads: [], key: 'k', runsOn: 'backend' },
      graph: { version: 1, recipeName: 'tiny-torch', nodes: [] },
      recipe, outDir: tempDir('out'), workDir: tempDir('work'), runDir: tempDir('run'), baseDir: '.',
      input: () => '', emit: (e: RunEventInput) => void events.push(e), signal: new AbortController().signal,
    } satisfies NodeContext
    const error = await backend.executors.train!(ctx).then(() => undefined, (e: unknown) => e as Error)
    expect(error?.message.replace(python, '<python>')).toMatchInlineSnapshot(`
      "CUDA requested but absent
      ✖ TK422 device 'cuda' was requested but torch 2.11.0 at <python> sees no CUDA device → at device
        value: "cuda"
        fix: Run on a machine with an NVIDIA GPU and a CUDA build of torch, or set device: 'cpu' (or 'auto')."
    `)
  })
})
