import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { countParams, estimateActivations, families, type Dtype, type MemoryInput, type MethodOptions } from '@tunekit/core'
import { workerPython } from '../python.ts'

const repo = resolve(import.meta.dirname, '../..')
const targets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']

interface Measured { attention: 'sdpa' | 'eager'; dropout: number; dtype: Dtype; perLayer: number }

describe('activation formula against PyTorch', () => {
  it('matches the bytes autograd keeps per decoder layer of a Llama with PEFT LoRA', () => {
    // Real transformers + PEFT on the CPU (the worker's pinned stack); the script counts saved tensors.
    const text = execFileSync(workerPython(), [resolve(repo, 'test/graph/measure_activations.py'), 'sdpa:0.1:bfloat16', 'eager:0.0:float32'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, OMP_NUM_THREADS: '1' } })
    const measured = JSON.parse(text) as { shape: Record<string, number>; batch: number; seq: number; rank: number; results: Measured[] }
    const family = families.llama
    const config = family.readConfig({ ...measured.shape, num_hidden_layers: 2 })
    const lora = (dropout: number): MethodOptions => ({ kind: 'lora', rank: measured.rank, alpha: 8, dropout, targetModules: targets, modulesToSave: [], trainableTokens: false, rsLora: false, useDora: false, init: 'default' })
    for (const m of measured.results) {
      const input: MemoryInput = {
        family, config, params: countParams(family, config, lora(m.dropout), 0),
        model: { id: 'tiny', family: 'llama', dtype: m.dtype, gradientCheckpointing: false },
        method: lora(m.dropout), optimizer: 'adamw_torch', batchSize: measured.batch, seqLen: measured.seq,
        target: { backend: 'torch', device: 'cpu', dtypes: ['float32', 'bfloat16'] }, attention: m.attention,
      }
      expect([m.attention, m.dtype, m.dropout, estimateActivations(input, m.dtype).perLayer]).toEqual([m.attention, m.dtype, m.dropout, m.perLayer])
    }
  })
})
