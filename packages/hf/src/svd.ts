// A deterministic thin SVD in float64, for PiSSA's and LoftQ's start values on the tfjs backend
// (torch uses torch.linalg.svd). One-sided Jacobi (Hestenes 1958; Demmel & Veselić 1992): rotate
// pairs of columns of M until every pair is orthogonal; then M·V = U·Σ with the column norms as
// the singular values. Fixed sweep order and no randomness, so the same matrix gives the same
// bytes on every machine. Cost per sweep ~3·m·n² flops; 6–10 sweeps for a random matrix. Fine for
// the small models tfjs trains (a 64 × 128 matrix: a few ms); a 4096² matrix would take minutes.
//
// Singular vectors are unique only up to sign (and rotation within repeated singular values), so a
// test compares U·Σ·Vᵀ, Σ and the rank-r residual with numpy's, never the vectors themselves.

/** `M = U · diag(S) · Vt` for M [rows, cols]: U [rows, k], S [k] descending, Vt [k, cols], k = min(rows, cols). */
export interface Svd {
  u: Float64Array
  s: Float64Array
  vt: Float64Array
  rows: number
  cols: number
  k: number
}

const MAX_SWEEPS = 60
const EPS = 1e-15

/** Thin SVD of the row-major matrix `m` [rows, cols] (float32 or float64 values). */
export function svd(m: ArrayLike<number>, rows: number, cols: number): Svd {
  if (m.length !== rows * cols) throw new Error(`svd: ${m.length} values for a ${rows} × ${cols} matrix`)
  // Jacobi on the orientation with fewer columns: M = U Σ Vᵀ ⇔ Mᵀ = V Σ Uᵀ.
  if (cols > rows) {
    const t = new Float64Array(rows * cols)
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c]!
    const f = tallSvd(t, cols, rows)
    return { u: transpose(f.vt, f.k, rows), s: f.s, vt: transpose(f.u, cols, f.k), rows, cols, k: f.k }
  }
  return { ...tallSvd(Float64Array.from(m), rows, cols), rows, cols }
}

function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!
  return out
}

/** One-sided Jacobi on a tall matrix a [m, n], m ≥ n (row-major, overwritten). */
function tallSvd(a: Float64Array, m: number, n: number): { u: Float64Array; s: Float64Array; vt: Float64Array; k: number } {
  // Columns held contiguously (column-major) so each rotation walks two contiguous runs.
  const col = transpose(a, m, n) // [n, m]: column j at j*m
  const v = new Float64Array(n * n) // column-major too: column j at j*n
  for (let j = 0; j < n; j++) v[j * n + j] = 1
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0
        let beta = 0
        let gamma = 0
        for (let i = 0; i < m; i++) {
          const x = col[p * m + i]!
          const y = col[q * m + i]!
          alpha += x * x
          beta += y * y
          gamma += x * y
        }
        if (gamma === 0 || Math.abs(gamma) <= EPS * Math.sqrt(alpha * beta)) continue
        rotated = true
        // the rotation that zeroes the (p, q) entry of MᵀM: tan θ = t, the smaller root
        const zeta = (beta - alpha) / (2 * gamma)
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta))
        const c = 1 / Math.sqrt(1 + t * t)
        const s = c * t
        rotate(col, p * m, q * m, m, c, s)
        rotate(v, p * n, q * n, n, c, s)
      }
    }
    if (!rotated) break
  }
  // σ_j = ‖column j‖, u_j = column j / σ_j; sorted by σ descending (ties by index: deterministic).
  const sigma = Array.from({ length: n }, (_, j) => {
    let sum = 0
    for (let i = 0; i < m; i++) sum += col[j * m + i]! ** 2
    return Math.sqrt(sum)
  })
  const order = sigma.map((_, j) => j).sort((x, y) => sigma[y]! - sigma[x]! || x - y)
  const u = new Float64Array(m * n)
  const vt = new Float64Array(n * n)
  const s = new Float64Array(n)
  order.forEach((j, k) => {
    s[k] = sigma[j]!
    const inv = sigma[j]! > 0 ? 1 / sigma[j]! : 0
    for (let i = 0; i < m; i++) u[i * n + k] = col[j * m + i]! * inv
    for (let i = 0; i < n; i++) vt[k * n + i] = v[j * n + i]!
  })
  return { u, s, vt, k: n }
}

/** x_p ← c·x_p − s·x_q, x_q ← s·x_p + c·x_q over `len` values from offsets p and q. */
function rotate(x: Float64Array, p: number, q: number, len: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const xp = x[p + i]!
    const xq = x[q + i]!
    x[p + i] = c * xp - s * xq
    x[q + i] = s * xp + c * xq
  }
}
