import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { countParams, estimateActivations, estimateEncoderMemory, families, type Dtype, type MemoryInput, type MethodOptions } from '@tunekit/core'
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
    const lora = (dropout: number): MethodOptions => ({ kind: 'lora', rank: measured.rank, alpha: 8, dropout, targetModules: targets, modulesToSave: [], trainableTokens: false, rsLora: false, useDora: false, init: 'default', initLoraWeights: true })
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

  it('matches the bytes autograd keeps per encoder layer of a BertForQuestionAnswering, full and with PEFT LoRA, and PEFT\'s trainable count', () => {
    const text = execFileSync(workerPython(), [resolve(repo, 'test/graph/measure_encoder_activations.py'), 'full', 'lora:query,value', 'lora:query,key,value,dense', 'lora:dense'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, OMP_NUM_THREADS: '1', TRANSFORMERS_VERBOSITY: 'error' } })
    const measured = JSON.parse(text) as { shape: Record<string, number>; batch: number; seq: number; rank: number; results: Array<{ method: string; perLayer: number; trainable: number }> }
    const family = families.bert
    const config = family.readConfig({ ...measured.shape, num_hidden_layers: 2 })
    const method = (m: string): MethodOptions => m === 'full'
      ? { kind: 'full' }
      : { kind: 'lora', rank: measured.rank, alpha: 16, dropout: 0, targetModules: m.slice('lora:'.length).split(','), modulesToSave: ['qa_outputs'], trainableTokens: false, rsLora: false, useDora: false, init: 'default', initLoraWeights: true }
    const estimated = measured.results.map((m) => {
      const params = countParams(family, config, method(m.method), 0)
      const input: MemoryInput = {
        family, config, params, model: { id: 'tiny-bert', family: 'bert', dtype: 'float32', gradientCheckpointing: false },
        method: method(m.method), optimizer: 'adamw_torch', batchSize: measured.batch, seqLen: measured.seq,
        target: { backend: 'torch', device: 'cpu', dtypes: ['float32'] },
      }
      return { method: m.method, perLayer: estimateEncoderMemory(input).activationsDetail.perLayer, trainable: params.trainable }
    })
    expect(estimated).toEqual(measured.results.map(({ method, perLayer, trainable }) => ({ method, perLayer, trainable })))
  })
})
