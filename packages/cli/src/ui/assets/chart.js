// A line chart in SVG, small enough to read at once: one chart per metric, several series (train
// and eval loss), points keyed by step so that a resumed run redoing a step replaces its point.
// No dependency: the dashboard's page weight stays a few kilobytes.
'use strict'
window.tk = window.tk || {}

const SVG = 'http://www.w3.org/2000/svg'
const W = 320, H = 150, PAD = { l: 44, r: 8, t: 6, b: 18 }
const COLORS = ['#2f6fdd', '#d9822b', '#2e8b57', '#9c27b0']

function svgEl(name, attrs) {
  const el = document.createElementNS(SVG, name)
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v))
  return el
}

/** A number short enough for an axis label: 3 significant digits, exponent form outside 1e-3..1e5. */
function short(v) {
  if (v === 0) return '0'
  const a = Math.abs(v)
  return a >= 1e5 || a < 1e-3 ? v.toExponential(1) : Number(v.toPrecision(3)).toString()
}

/**
 * A chart in `parent` titled `title`. `add(series, step, value)` records a point; the chart
 * redraws at most once a frame.
 */
window.tk.chart = function chart(parent, title, key) {
  const box = document.createElement('div')
  box.className = 'chart'
  box.dataset.metric = key
  box.innerHTML = '<div class="title"><span></span><span class="last"></span></div>'
  box.querySelector('span').textContent = title
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title })
  box.appendChild(svg)
  parent.appendChild(box)
  const series = new Map() // name → Map(step → value)
  let queued = false

  function draw() {
    queued = false
    svg.replaceChildren()
    const all = [...series.values()].flatMap((m) => [...m.entries()])
    if (all.length === 0) return
    const xs = all.map((p) => p[0]), ys = all.map((p) => p[1])
    const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1)
    let y0 = Math.min(...ys), y1 = Math.max(...ys)
    if (y1 - y0 < 1e-12) { y0 -= Math.abs(y0) * 0.05 + 1e-9; y1 += Math.abs(y1) * 0.05 + 1e-9 }
    const px = (x) => PAD.l + ((x - x0) / (x1 - x0)) * (W - PAD.l - PAD.r)
    const py = (y) => H - PAD.b - ((y - y0) / (y1 - y0)) * (H - PAD.t - PAD.b)
    svg.appendChild(svgEl('line', { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, stroke: 'currentColor', 'stroke-opacity': 0.25 }))
    for (const [y, label] of [[y0, short(y0)], [y1, short(y1)]]) {
      const t = svgEl('text', { x: PAD.l - 4, y: py(y) + 4, 'text-anchor': 'end', 'font-size': 10, fill: 'currentColor', 'fill-opacity': 0.6 })
      t.textContent = label
      svg.appendChild(t)
    }
    for (const [x, anchor] of [[x0, 'start'], [x1, 'end']]) {
      const t = svgEl('text', { x: px(x), y: H - 4, 'text-anchor': anchor, 'font-size': 10, fill: 'currentColor', 'fill-opacity': 0.6 })
      t.textContent = `step ${x}`
      svg.appendChild(t)
    }
    let i = 0
    const last = []
    for (const [name, points] of series) {
      const sorted = [...points.entries()].sort((a, b) => a[0] - b[0])
      const color = COLORS[i++ % COLORS.length]
      const d = sorted.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')
      svg.appendChild(svgEl(sorted.length === 1 ? 'circle' : 'polyline', sorted.length === 1
        ? { cx: px(sorted[0][0]), cy: py(sorted[0][1]), r: 2.5, fill: color }
        : { points: d, fill: 'none', stroke: color, 'stroke-width': 1.6, 'data-series': name }))
      last.push([`${series.size > 1 ? `${name} ` : ''}${short(sorted[sorted.length - 1][1])}`, color])
    }
    // The last value of each series, in its line's colour (the legend when there are several).
    box.querySelector('.last').replaceChildren(...last.flatMap(([text, color], k) => {
      const span = document.createElement('span')
      span.textContent = text
      if (series.size > 1) span.style.color = color
      return k === 0 ? [span] : [' · ', span]
    }))
  }

  return {
    el: box,
    add(name, step, value) {
      if (typeof value !== 'number' || !Number.isFinite(value)) return
      if (!series.has(name)) series.set(name, new Map())
      series.get(name).set(step, value)
      if (!queued) { queued = true; requestAnimationFrame(draw) }
    },
    /** Points of a series, for tests and the run page's counters. */
    count(name) { return series.get(name)?.size ?? 0 },
  }
}
