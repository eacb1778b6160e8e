// @tunekit/hf's svd (one-sided Jacobi, float64) and PiSSA's start values against numpy / torch on
// fixed matrices. Singular vectors are unique only up to sign, so what is compared is invariant:
// the singular values, U·Σ·Vᵀ, the rank-r truncation, and PiSSA's scale·B·A and residual against
// PEFT's pissa_init formula (torch.linalg.svd in float32). One Python process for the file.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createRng, fillNormal, pissaResidual, pissaStart, svd, type FloatTensor } from '@tunekit/hf'
import { pythonJson, tempDir } from '../torch/helpers.ts'

const matrix = (rows: number, cols: number, seed: number): FloatTensor => ({ shape: [rows, cols], data: fillNormal(createRng(seed, 'svd'), new Float32Array(rows * cols), 0, 0.02) })
// wide, tall, square, and one of rank 3 (repeated singular value 0)
const lowRank = (() => {
  const a = matrix(48, 3, 7).data
  const b = matrix(3, 40, 8).data
  const data = new Float32Array(48 * 40)
  for (let i = 0; i < 48; i++) for (let j = 0; j < 40; j++) for (let k = 0; k < 3; k++) data[i * 40 + j]! += a[i * 3 + k]! * b[k * 40 + j]!
  return { shape: [48, 40], data } satisfies FloatTensor
})()
const cases: FloatTensor[] = [matrix(64, 128, 1), matrix(128, 64, 2), matrix(32, 32, 3), lowRank]
const RANK = 4
const SCALE = 2 // alpha 8 / rank 4

interface Reference { s: number[]; truncated: number[]; residual: number[] }

describe('svd and PiSSA start values against numpy / torch', () => {
  let refs: Reference[]

  beforeAll(() => {
    const file = join(tempDir('svd'), 'cases.json')
    writeFileSync(file, JSON.stringify(cases.map((c) => ({ shape: c.shape, data: Array.from(c.data) }))))
    refs = pythonJson(`
import json, sys, numpy as np, torch
out = []
for c in json.load(open(sys.argv[1])):
    m = np.array(c["data"], dtype=np.float32).reshape(c["shape"])
    u, s, vt = np.linalg.svd(m.astype(np.float64), full_matrices=False)
    trunc = (u[:, :${RANK}] * s[:${RANK}]) @ vt[:${RANK}]
    # PEFT's LoraLayer.pissa_init, float32
    w = torch.tensor(m)
    V, S, Uh = torch.linalg.svd(w, full_matrices=False)
    Sr = S[:${RANK}] / ${SCALE}
    A = torch.diag(torch.sqrt(Sr)) @ Uh[:${RANK}]
    B = V[:, :${RANK}] @ torch.diag(torch.sqrt(Sr))
    res = w - ${SCALE} * B @ A
    out.append({"s": s.tolist(), "truncated": trunc.ravel().tolist(), "residual": res.ravel().tolist()})
print(json.dumps(out))
`, [file]) as Reference[]
  })

  const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0)

  it('singular values match numpy to 1e-12 relative of σ₁; U·Σ·Vᵀ rebuilds the matrix; U and V are orthonormal', () => {
    cases.forEach((c, n) => {
      const [rows, cols] = c.shape as [number, number]
      const f = svd(c.data, rows, cols)
      const s1 = refs[n]!.s[0]!
      expect(maxAbs(f.s, refs[n]!.s) / s1, `case ${n}`).toBeLessThan(1e-12)
      const rebuilt = new Float64Array(rows * cols)
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let k = 0; k < f.k; k++) rebuilt[i * cols + j]! += f.u[i * f.k + k]! * f.s[k]! * f.vt[k * cols + j]!
      expect(maxAbs(rebuilt, c.data) / s1, `case ${n}`).toBeLessThan(1e-12)
      // VᵀV = I over the nonzero singular values (the rank-3 case's null space is arbitrary)
      const nonzero = Array.from(f.s).filter((s) => s > 1e-9 * s1).length
      for (let p = 0; p < nonzero; p++) {
        for (let q = 0; q < nonzero; q++) {
          let dv = 0
          let du = 0
          for (let j = 0; j < cols; j++) dv += f.vt[p * cols + j]! * f.vt[q * cols + j]!
          for (let i = 0; i < rows; i++) du += f.u[i * f.k + p]! * f.u[i * f.k + q]!
          expect(Math.abs(dv - (p === q ? 1 : 0)) + Math.abs(du - (p === q ? 1 : 0))).toBeLessThan(1e-12)
        }
      }
    })
  })

  it("PiSSA's scale·B·A is numpy's rank-r truncation and its residual PEFT's pissa_init residual (float32)", () => {
    cases.forEach((c, n) => {
      const { a, b } = pissaStart(c, { alpha: 8, rank: RANK })
      expect([a.shape, b.shape]).toEqual([[RANK, c.shape[1]], [c.shape[0], RANK]])
      const residual = pissaResidual(c, a, b, SCALE)
      const s1 = refs[n]!.s[0]!
      const truncated = Float32Array.from(c.data, (w, i) => w - residual.data[i]!)
      expect(maxAbs(truncated, refs[n]!.truncated) / s1, `case ${n}`).toBeLessThan(1e-6)
      // torch's float32 SVD is the less exact one (3e-6 on the square case, whose σ₄ and σ₅ are close)
      expect(maxAbs(residual.data, refs[n]!.residual) / s1, `case ${n}`).toBeLessThan(1e-5)
    })
  })

  it('is deterministic: the same matrix gives the same bytes', () => {
    const [x, y] = [svd(cases[0]!.data, 64, 128), svd(cases[0]!.data, 64, 128)]
    expect(Buffer.from(x.u.buffer).equals(Buffer.from(y.u.buffer)) && Buffer.from(x.vt.buffer).equals(Buffer.from(y.vt.buffer))).toBe(true)
  })
})
