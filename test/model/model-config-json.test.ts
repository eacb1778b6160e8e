// config.json in the widest form: transformers 4.x reads `rope_theta` / `rope_scaling` /
// `torch_dtype`, transformers 5 `rope_parameters` / `dtype`; a base in either form gives both.
import { describe, expect, it } from 'vitest'
import { familyInfo, knownCheckpoints } from '@tunekit/core'
import { modelConfigJson } from '@tunekit/hf'

const config = { ...knownCheckpoints['tunekit/tiny-mistral']!.config, ropeTheta: 500000 }
const rope = (json: Record<string, unknown>) => ({ rope_theta: json.rope_theta, rope_scaling: json.rope_scaling, rope_parameters: json.rope_parameters, torch_dtype: json.torch_dtype, dtype: json.dtype })

describe('modelConfigJson', () => {
  it('writes rope_theta and rope_scaling beside rope_parameters, torch_dtype beside dtype, keys sorted', () => {
    const json = modelConfigJson('mistral', config, { dtype: 'BF16', base: { transformers_version: '5.23.0', torch_dtype: 'float32', custom_field: 7 } })
    expect(rope(json)).toEqual({ rope_theta: 500000, rope_scaling: null, rope_parameters: { rope_type: 'default', rope_theta: 500000 }, torch_dtype: 'bfloat16', dtype: 'bfloat16' })
    expect(json.custom_field).toBe(7) // fields tunekit does not model are kept
    expect('transformers_version' in json).toBe(false) // it would claim a writer that did not write it
    expect(Object.keys(json)).toEqual(Object.keys(json).sort())
  })

  it("keeps a base's rope scaling, from transformers 5's rope_parameters or 4's rope_scaling", () => {
    const scaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 }
    const fromNew = modelConfigJson('llama', config, { dtype: 'F32', base: { rope_parameters: { ...scaling, rope_theta: 500000 } } })
    const fromOld = modelConfigJson('llama', config, { dtype: 'F32', base: { rope_theta: 500000, rope_scaling: scaling } })
    expect(rope(fromNew)).toEqual({ rope_theta: 500000, rope_scaling: scaling, rope_parameters: { ...scaling, rope_theta: 500000 }, torch_dtype: 'float32', dtype: 'float32' })
    expect(fromOld).toEqual(fromNew)
  })

  it("reads theta from transformers 5's rope_parameters when rope_theta is absent", () => {
    const json = modelConfigJson('mistral', config, { dtype: 'F32' })
    const { rope_theta: _theta, rope_scaling: _scaling, ...newForm } = json
    expect(familyInfo('mistral')!.readConfig(newForm).ropeTheta).toBe(500000)
  })
})
