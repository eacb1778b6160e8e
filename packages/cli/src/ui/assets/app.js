// The dashboard's pages: #/ (runs, start a run) and #/run/<id> (live curves, graph, plan, actions,
// chat). Plain DOM, no framework; every request carries this launch's token.
'use strict'
const TOKEN = document.querySelector('meta[name="tunekit-token"]').content
const main = document.getElementById('main')
let leave = () => {} // closes the current page's event stream

const q = (params) => `token=${encodeURIComponent(TOKEN)}&${new URLSearchParams(params)}`
async function api(path, params = {}) {
  const res = await fetch(`${path}?${q(params)}`)
  const body = await res.json()
  if (!res.ok) throw Object.assign(new Error(body.error), body)
  return body
}
async function post(path, value) {
  const res = await fetch(`${path}?${q({})}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) })
  const body = await res.json()
  if (!res.ok) throw Object.assign(new Error(body.error), body)
  return body
}
const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) if (k === 'class') el.className = v; else if (k === 'style') el.style.cssText = v; else if (k.startsWith('on')) el.addEventListener(k.slice(2), v); else el.setAttribute(k, v)
  el.append(...children.filter((c) => c !== undefined && c !== null))
  return el
}
const num = (v) => (typeof v === 'number' ? Number(v.toPrecision(4)).toString() : '–')
const ago = (t) => (t ? new Date(t).toLocaleString() : '–')
const issuesText = (e) => (e.issues ? e.issues.map((i) => i.text).join('\n') : e.message)

// ── runs page ────────────────────────────────────────────────────────────────────────────────
async function runsPage() {
  const { runs, recipes } = await api('/api/runs')
  const rows = runs.map((r) => h('tr', {},
    h('td', {}, h('a', { href: `#/run/${encodeURIComponent(r.id)}` }, r.id)),
    h('td', {}, r.recipe),
    h('td', {}, h('span', { class: `status ${r.status}` }, r.status)),
    h('td', {}, `${r.steps}${r.totalSteps ? ` / ${r.totalSteps}` : ''}`),
    h('td', {}, num(r.bestLoss)), h('td', {}, num(r.evalLoss)),
    h('td', {}, r.score ? Object.entries(r.score).map(([k, v]) => `${k} ${num(v)}`).join(', ') : '–'),
    h('td', {}, `${Math.round(r.seconds)} s`), h('td', {}, ago(r.updatedAt))))
  const table = h('table', { id: 'runs' }, h('tr', {}, ...['run', 'recipe', 'status', 'steps', 'best loss', 'eval loss', 'score', 'time', 'updated'].map((t) => h('th', {}, t))), ...rows)
  // Every run's training loss on one chart.
  const compare = h('div', { class: 'charts', id: 'compare' })
  api('/api/losses').then(({ runs: losses }) => {
    if (losses.length === 0) return
    const chart = window.tk.chart(compare, 'training loss of each run', 'compare-loss')
    for (const r of losses) for (const [step, loss] of r.points) chart.add(r.id, step, loss)
  })
  const select = h('select', { id: 'recipe' }, ...recipes.map((r) => new Option(r, r)))
  const formBox = h('div', { id: 'form' })
  const out = h('div', { class: 'issues', id: 'issues' })
  let form = null
  const load = async () => {
    formBox.replaceChildren(h('p', { class: 'muted' }, 'loading the recipe…'))
    const { schema, values } = await api('/api/recipe-form', { recipe: select.value })
    formBox.replaceChildren()
    form = window.tk.recipeForm(formBox, schema, values)
  }
  select.addEventListener('change', load)
  const start = h('button', { class: 'primary', id: 'start', type: 'button', onclick: async () => {
    out.textContent = ''
    start.disabled = true
    try {
      const { run } = await post('/api/start', { recipe: select.value, set: form.collect() })
      location.hash = `#/run/${encodeURIComponent(run)}`
    } catch (e) { out.textContent = issuesText(e) } finally { start.disabled = false }
  } }, 'Start')
  main.replaceChildren(h('h2', {}, 'Runs'), runs.length ? table : h('p', { class: 'muted' }, 'No run folders under ./runs yet.'), compare,
    h('h2', {}, 'Start a run'), recipes.length ? h('div', { class: 'row' }, h('label', { for: 'recipe' }, 'recipe file'), select, start) : h('p', { class: 'muted' }, 'No recipe files offered (start `tunekit ui` with some, or put them in ./recipes).'),
    out, h('p', { class: 'muted' }, 'Change what you want; only changed keys are sent, as `tunekit run --set key=value` flags.'), formBox)
  if (recipes.length) await load()
}

// ── run page ─────────────────────────────────────────────────────────────────────────────────
const CHARTS = [['loss', 'loss'], ['learningRate', 'learning rate'], ['gradNorm', 'grad norm'], ['tokensPerSecond', 'tokens / s']]

/** Node states from the events: at each run-start the visited nodes are pending again. */
function nodeStates(states, e) {
  if (e.type === 'run-start') for (const id of e.nodes) states[id] = 'pending'
  if (e.type === 'node-start') states[e.node] = 'running'
  if (e.type === 'node-end') states[e.node] = 'done'
  if (e.type === 'node-cached') states[e.node] = 'cached'
  if (e.type === 'run-end' && !e.ok) for (const [id, s] of Object.entries(states)) if (s === 'running') states[id] = e.code === 'TK404' ? 'stopped' : 'failed'
}

/** The graph as layered boxes: a node's column is one more than its deepest input's. */
function drawGraph(box, graph, states) {
  const depth = {}
  for (const n of graph.nodes) depth[n.id] = Math.max(-1, ...n.inputs.map((i) => depth[i] ?? 0)) + 1
  const cols = {}
  for (const n of graph.nodes) (cols[depth[n.id]] ||= []).push(n.id)
  const pos = {}
  const BW = 130, BH = 38, GX = 40, GY = 12
  for (const [c, ids] of Object.entries(cols)) ids.forEach((id, r) => { pos[id] = { x: 8 + c * (BW + GX), y: 8 + r * (BH + GY) } })
  const W = 16 + Object.keys(cols).length * (BW + GX), Hh = 16 + Math.max(...Object.values(cols).map((c) => c.length)) * (BH + GY)
  const NS = 'http://www.w3.org/2000/svg'
  const el = (name, attrs, text) => { const e = document.createElementNS(NS, name); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text) e.textContent = text; return e }
  const svg = el('svg', { viewBox: `0 0 ${W} ${Hh}`, width: W })
  for (const n of graph.nodes) for (const i of n.inputs) {
    const a = pos[i], b = pos[n.id]
    svg.appendChild(el('path', { class: 'edge', d: `M${a.x + BW},${a.y + BH / 2} C${a.x + BW + GX / 2},${a.y + BH / 2} ${b.x - GX / 2},${b.y + BH / 2} ${b.x},${b.y + BH / 2}` }))
  }
  for (const n of graph.nodes) {
    const s = states[n.id] || 'pending'
    const g = el('g', { class: `node ${s}`, 'data-node': n.id, 'data-state': s, transform: `translate(${pos[n.id].x},${pos[n.id].y})` })
    g.append(el('rect', { width: BW, height: BH }), el('text', { x: 8, y: 16 }, n.id), el('text', { x: 8, y: 31, 'font-size': 10, 'fill-opacity': 0.7 }, s === 'cached' ? 'cache hit' : s))
    svg.appendChild(g)
  }
  box.replaceChildren(svg)
}

const BAR_COLORS = { weights: '#7a8ca3', adapters: '#2f6fdd', gradients: '#d9822b', optimizer: '#9c27b0', activations: '#2e8b57' }
function drawPlan(box, { plan, text }) {
  const parts = []
  const mem = plan.memory
  if (mem && mem.total > 0) {
    const keys = Object.keys(BAR_COLORS).filter((k) => mem[k] > 0)
    const mb = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`
    parts.push(h('h3', {}, `memory ≈ ${mb(mem.total)}`),
      h('div', { class: 'bar' }, ...keys.map((k) => h('span', { style: `width:${(100 * mem[k]) / mem.total}%;background:${BAR_COLORS[k]}`, title: `${k} ${mb(mem[k])}` }))),
      h('div', { class: 'legend' }, ...keys.map((k) => h('span', {}, h('i', { style: `background:${BAR_COLORS[k]}` }), `${k} ${mb(mem[k])}`))))
  }
  const eta = plan.eta
  parts.push(h('p', {}, `ETA: ${eta.seconds === null ? eta.reason : eta.cached ? 'cached' : `${Math.round(eta.seconds)} s`}`), h('pre', {}, text))
  box.replaceChildren(...parts)
}

/** The tokenize checks and the first samples, token by token: trained tokens (labels) marked. */
function drawData(box, view) {
  if (!view.ready) return box.replaceChildren(h('p', { class: 'muted' }, view.reason))
  const sample = (s, i) => h('div', { class: 'sample', 'data-sample': String(i) },
    ...s.tokens.map((t) => h('span', { class: t.trained ? 'tok trained' : 'tok masked', title: t.trained ? 'trained (a label)' : 'masked' }, t.text)),
    s.length > s.tokens.length ? h('span', { class: 'muted' }, ` … ${s.length - s.tokens.length} more tokens`) : null)
  box.replaceChildren(h('pre', { id: 'data-checks' }, view.text),
    h('p', { class: 'legend' }, h('span', { class: 'tok trained' }, 'trained'), ' ', h('span', { class: 'tok masked' }, 'masked'), ` — the first ${view.samples.length} samples as tokenized`),
    ...view.samples.map(sample),
    view.template ? h('details', {}, h('summary', {}, 'chat template'), h('pre', {}, view.template)) : null)
}

function chatBox(id) {
  const log = h('div', { id: 'chat-log' })
  const input = h('input', { id: 'chat-input', placeholder: 'ask the merged model…', autocomplete: 'off' })
  const template = h('pre', { id: 'chat-prompt', class: 'muted' })
  const turns = []
  const form = h('form', { onsubmit: async (ev) => {
    ev.preventDefault()
    const text = input.value.trim()
    if (!text) return
    input.value = ''
    turns.push({ role: 'user', content: text })
    log.append(h('div', { class: 'turn' }, h('b', {}, 'you'), text))
    const answer = h('span', { class: 'answer' })
    const turn = h('div', { class: 'turn' }, h('b', {}, 'model'), answer)
    log.append(turn)
    const res = await fetch(`/api/chat?${q({})}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ run: id, messages: turns }) })
    if (!res.ok) { answer.textContent = issuesText(await res.json()); return }
    const reader = res.body.getReader(), dec = new TextDecoder()
    let buf = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buf += dec.decode(value, { stream: true })
      let cut
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const m = JSON.parse(buf.slice(6, cut)) // "data: …"
        buf = buf.slice(cut + 2)
        if (m.prompt !== undefined) template.textContent = `rendered with the training template:\n${m.prompt}`
        if (m.piece !== undefined) { answer.textContent += m.piece; turn.dataset.pieces = String(Number(turn.dataset.pieces || 0) + 1) }
        if (m.answer !== undefined) { answer.textContent = m.answer; turn.dataset.done = 'true'; turns.push({ role: 'assistant', content: m.answer }) }
        if (m.error !== undefined) answer.textContent = m.error
      }
    }
  } }, input, h('button', { type: 'submit' }, 'Send'))
  return h('div', { class: 'chat' }, log, form, template)
}

/** A run whose child has not written its run folder yet: its launch (stderr when it failed), again in half a second. */
function startingPage(id, launch) {
  const failed = !launch.running && launch.exitCode !== null
  main.replaceChildren(h('h2', {}, `${id} `, h('span', { class: `status ${failed ? 'failed' : 'running'}`, id: 'status' }, failed ? 'failed' : 'starting')),
    launch.stderr ? h('pre', { class: 'issues', id: 'stderr' }, launch.stderr) : h('p', { class: 'muted' }, 'checking and compiling the recipe…'))
  if (failed) return
  const timer = setTimeout(() => route(), 500)
  leave = () => clearTimeout(timer)
}

async function runPage(id) {
  const info = await api('/api/run', { run: id })
  if (info.starting) return startingPage(id, info.launch)
  const status = h('span', { class: `status ${info.summary.status}`, id: 'status' }, info.summary.status)
  const stderr = h('pre', { id: 'stderr', class: 'issues', hidden: '' })
  const stop = h('button', { id: 'stop', onclick: async () => { stop.disabled = true; await post('/api/stop', { run: id }) } }, 'Stop')
  // Resume, Merge and Export run the same recipe file and flags again (tunekit run / merge / export).
  const again = (action, label) => h('button', { id: action, onclick: async () => {
    try { await post(`/api/${action}`, { run: id }); stderr.hidden = true } catch (e) { stderr.hidden = false; stderr.textContent = issuesText(e) }
  } }, label)
  const resume = again('resume', 'Resume'), merge = again('merge', 'Merge'), exporter = again('export', 'Export GGUF')
  const gguf = h('p', { id: 'gguf', class: 'muted' })
  const charts = h('div', { class: 'charts', id: 'charts' })
  const graphBox = h('div', { class: 'graph', id: 'graph' })
  const planBox = h('div', { id: 'plan' }, h('p', { class: 'muted' }, 'planning…'))
  const chatPlace = h('div', { id: 'chat' })
  const dataBox = h('div', { id: 'data' }, h('p', { class: 'muted' }, 'reading the tokenized data…'))
  const loadData = () => api('/api/data', { run: id }).then((v) => drawData(dataBox, v), (e) => dataBox.replaceChildren(h('pre', { class: 'issues' }, issuesText(e))))
  const launch = info.launch
  main.replaceChildren(h('h2', {}, `${info.summary.recipe} `, status), h('p', { class: 'muted' }, id, launch ? ` · started here from ${launch.recipe}${launch.set.length ? ` with --set ${launch.set.join(' --set ')}` : ''}` : ''),
    h('div', { class: 'row' }, stop, resume, merge, exporter), gguf, stderr, h('h2', {}, 'Curves'), charts, h('h2', {}, 'Graph'), graphBox, h('h2', {}, 'Plan'), planBox, h('h2', {}, 'Data'), dataBox, h('h2', {}, 'Chat'), chatPlace)

  const byKey = {}
  const chartOf = (key, title) => (byKey[key] ||= window.tk.chart(charts, title, key))
  for (const [k, t] of CHARTS) chartOf(k, t)
  const states = {}
  const onEvent = (e) => {
    nodeStates(states, e)
    if (e.type === 'step') {
      for (const [k, t] of CHARTS) chartOf(k, t).add('train', e.step, e[k])
      for (const [k, v] of Object.entries(e.metrics || {})) chartOf(k, k).add('train', e.step, v)
    }
    if (e.type === 'eval') {
      chartOf('loss', 'loss').add('eval', e.step, e.loss)
      for (const [k, v] of Object.entries(e.metrics || {})) chartOf(`eval/${k}`, `eval ${k}`).add('eval', e.step, v)
    }
    if (['node-start', 'node-end', 'node-cached', 'run-start', 'run-end'].includes(e.type)) drawGraph(graphBox, info.graph, states)
    if (e.type === 'run-start' || e.type === 'run-end') refresh()
    if (e.type === 'run-end') loadPlan() // the cache changed: what is left to run, and its ETA
    if ((e.type === 'node-end' || e.type === 'node-cached') && e.node === 'tokenize') loadData()
  }
  const loadPlan = () => api('/api/plan', { run: id }).then((p) => drawPlan(planBox, p), (e) => planBox.replaceChildren(h('pre', { class: 'issues' }, issuesText(e))))
  const refresh = async () => {
    const now = await api('/api/run', { run: id })
    status.className = `status ${now.summary.status}`
    status.textContent = now.summary.status
    const running = now.launch ? now.launch.running : now.summary.status === 'running'
    stop.disabled = !(now.launch && now.launch.running)
    for (const b of [resume, merge, exporter]) b.disabled = !now.launch || running
    if (now.gguf) gguf.textContent = `GGUF in ${id}/gguf: ${now.gguf.files.map((f) => `${f.file} (${f.type}, ${(f.bytes / 1e6).toFixed(1)} MB)`).join(', ')}`
    // merge and export add nodes to the graph (graph.json is written at each run-start)
    if (now.graph && now.graph.nodes.length !== info.graph.nodes.length) { info.graph = now.graph; drawGraph(graphBox, info.graph, states) }
    if (now.launch && !now.launch.running && now.launch.exitCode !== 0 && now.launch.exitCode !== 130 && now.launch.stderr) { stderr.hidden = false; stderr.textContent = now.launch.stderr }
    if (now.merged && !chatPlace.querySelector('.chat')) chatPlace.replaceChildren(chatBox(id))
    if (!now.merged && !chatPlace.firstChild) chatPlace.replaceChildren(h('p', { class: 'muted' }, 'the chat opens once the run has merged its model'))
  }
  drawGraph(graphBox, info.graph, states)
  await refresh()
  loadPlan()
  loadData()
  const source = new EventSource(`/api/events?${q({ run: id })}`)
  source.onmessage = (m) => onEvent(JSON.parse(m.data))
  // The launch's own state (exit code, stderr) changes without an event when a run fails to start.
  const timer = setInterval(refresh, 2000)
  leave = () => { source.close(); clearInterval(timer) }
}

// ── router ───────────────────────────────────────────────────────────────────────────────────
async function route() {
  leave()
  leave = () => {}
  const m = location.hash.match(/^#\/run\/(.+)$/)
  try {
    await (m ? runPage(decodeURIComponent(m[1])) : runsPage())
  } catch (e) {
    main.replaceChildren(h('pre', { class: 'issues' }, issuesText(e)))
  }
}
window.addEventListener('hashchange', route)
route()
