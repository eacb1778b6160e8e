// `tunekit ui` driven by a real headless Chromium (Debian's `chromium`, through playwright-core):
// the page opens with the token, a tiny tiny-chat run starts from the form, its loss curve grows
// from the server-sent events, it is stopped (it checkpoints) and resumed (it continues from the
// checkpoint, not from step 1), its merged model answers in the chat, and requests without the
// token are refused. With TUNEKIT_UI_SCREENSHOTS=<folder> it writes the screenshots of docs/ui.md.
import { execFileSync } from 'node:child_process'
import { request } from 'node:http'
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunEvent } from '@tunekit/core'
import { startUiServer, type UiServer } from '@tunekit/cli'

const root = fileURLToPath(new URL('../../', import.meta.url))
const recipe = join(root, 'recipes/tiny-chat.ts')
const question = 'What is the opposite of hot?'
const shots = process.env.TUNEKIT_UI_SCREENSHOTS

/** Debian's chromium (`apt-get install chromium`, as .ci/run does), or CHROMIUM_PATH. */
function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim()
}

let project: string
let server: UiServer
let browser: Browser
let page: Page
/** Uncaught errors of the page's scripts and console errors: the browser test ends by asserting there were none. */
const pageErrors: string[] = []

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'tunekit-ui-'))
  server = await startUiServer({ root: project, recipes: [recipe] })
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] })
  page = await browser.newPage({ viewport: { width: 1100, height: 760 } })
  page.setDefaultTimeout(150_000) // a safety net: the schema docs and the runs take minutes on a loaded machine
  page.on('pageerror', (e) => pageErrors.push(e.message))
  // Console errors too: a script or style the page's Content-Security-Policy blocked says so there.
  page.on('console', (m) => void (m.type() === 'error' && pageErrors.push(m.text())))
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

/** A screenshot for docs/ui.md, of the page's top `height` pixels (kept small: they are committed). */
const shot = async (name: string, height = 760): Promise<void> => {
  if (!shots) return
  mkdirSync(shots, { recursive: true })
  await page.screenshot({ path: join(shots, `${name}.png`), clip: { x: 0, y: 0, width: 1100, height } })
}

/** Points of the loss chart's train line so far. */
const lossPoints = async (): Promise<number> => {
  const line = page.locator('[data-metric="loss"] polyline[data-series="train"]')
  return (await line.count()) === 0 ? 0 : ((await line.getAttribute('points')) ?? '').split(' ').filter(Boolean).length
}

const events = (): RunEvent[] =>
  readFileSync(join(project, 'runs/tiny-chat/events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunEvent)

describe('tunekit ui in a headless Chromium', () => {
  it('refuses every request without the token, and one with another token', async () => {
    const base = `http://127.0.0.1:${server.port}`
    for (const path of ['/', '/assets/app.js', '/api/runs', `/?token=${'x'.repeat(server.token.length)}`]) {
      const res = await fetch(`${base}${path}`)
      expect([path, res.status]).toEqual([path, 403])
      expect(await res.text()).toContain('refused')
    }
    const opened = await page.goto(base)
    expect(opened?.status()).toBe(403)
    // With the token but another Host (a page on another name resolved to 127.0.0.1): refused too.
    const rebound = await new Promise<number>((done, fail) =>
      request({ host: '127.0.0.1', port: server.port, path: `/api/runs?token=${server.token}`, headers: { host: `evil.example:${server.port}` } }, (res) => done(res.statusCode ?? 0)).on('error', fail).end())
    expect(rebound).toBe(403)
  })

  it('opens only the recipe files and run folders it lists, and takes only JSON bodies', async () => {
    const call = async (path: string, body: unknown, type = 'application/json'): Promise<[number, string]> => {
      const res = await fetch(`http://127.0.0.1:${server.port}${path}?token=${server.token}`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify(body) })
      const answer = (await res.json()) as { error: string; issues?: { text: string }[] }
      return [res.status, answer.issues?.map((i) => i.text).join('\n') ?? answer.error]
    }
    expect(await call('/api/start', { recipe: '../recipes/mistral-oasst.ts' })).toMatchInlineSnapshot(`
      [
        400,
        "✖ TK721 "../recipes/mistral-oasst.ts" is not one of the recipe files this dashboard offers (tiny-chat.ts) → at recipe
        value: "../recipes/mistral-oasst.ts"
        fix: Start \`tunekit ui\` with the recipe files to offer (\`tunekit ui recipes/my-recipe.ts\`), or put them in ./recipes.",
      ]
    `)
    expect(await call('/api/stop', { run: '../../etc' })).toMatchInlineSnapshot(`
      [
        400,
        "✖ TK723 "../../etc" is not a run folder of this project → at run
        value: "../../etc"
        fix: Pick a run from the runs page; run folders are runs/<name> (or output.dir) with a recipe.json.",
      ]
    `)
    expect(await call('/api/start', { recipe: 'tiny-chat.ts' }, 'text/plain')).toMatchInlineSnapshot(`
      [
        415,
        "send application/json",
      ]
    `)
  })

  // The timeout is a safety net for a loaded machine (about 35 s on an idle core).
  it('starts tiny-chat from the form, streams its loss curve, stops, resumes and chats with the result', { timeout: 600_000 }, async () => {
    pageErrors.length = 0 // the refused requests above were logged as failed loads
    await page.goto(server.url)
    await page.waitForSelector('form.recipe [name="args.maxSteps"]', { state: 'attached' })
    // The form's help text is the schema's TSDoc.
    expect(await page.locator('.field:has([name="args.maxSteps"]) .help').textContent()).toMatch(/\S/)
    const set = async (key: string, value: string): Promise<void> => {
      // Open the key's group (and the groups around it) as a user would, by its summary.
      for (const details of await page.locator(`form.recipe details:has([name="${key}"])`).all()) {
        if ((await details.getAttribute('open')) === null) await details.locator('> summary').click()
      }
      await page.fill(`[name="${key}"]`, value)
    }
    // An invalid value is refused with the catalog's message, as `tunekit run --set` refuses it.
    await set('args.maxSteps', '-4')
    await page.click('#start')
    await expect.poll(() => page.textContent('#issues'), { timeout: 150_000 }).toContain('TK103 expected a number > 0 → at args.maxSteps')
    await shot('start-form', 560)
    pageErrors.length = 0 // Chromium logs the refused start (400) as a failed load

    // Small: 16 steps of 4 conversations, a checkpoint every 2 steps, one held-out question. A low
    // learning rate keeps the model from learning to answer with eos alone in so few steps, so
    // that its answer has tokens to stream.
    await set('args.maxSteps', '16')
    await set('args.learningRate', '1e-4')
    await set('args.batchSize', '4')
    await set('args.saveEvery', '2')
    await set('args.logEvery', '1')
    await set('output.samples', JSON.stringify([question]))
    await page.click('#start')
    await page.waitForURL(/#\/run\/runs%2Ftiny-chat$/)
    await expect.poll(lossPoints, { timeout: 150_000 }).toBeGreaterThanOrEqual(3)
    await shot('run-training')

    await page.click('#stop')
    await expect.poll(() => page.textContent('#status'), { timeout: 150_000 }).toBe('stopped')
    expect(await page.getAttribute('[data-node="train"]', 'data-state')).toBe('stopped')
    const stopped = events()
    const saved = stopped.filter((e) => e.type === 'checkpoint').map((e) => (e.type === 'checkpoint' ? e.step : 0))
    expect(saved.length).toBeGreaterThan(0)
    expect(stopped.at(-1)).toMatchObject({ type: 'run-end', ok: false, code: 'TK404' })

    await page.click('#resume')
    await expect.poll(() => page.textContent('#status'), { timeout: 150_000 }).toBe('done')
    await expect.poll(lossPoints).toBe(16)
    // Resumed from the last checkpoint: the second run's first step is the one after it.
    const all = events()
    const second = all.slice(all.findLastIndex((e) => e.type === 'run-start'))
    expect(second.find((e) => e.type === 'step')).toMatchObject({ step: Math.max(...saved) + 1 })
    // The data nodes come from the cache the first run filled.
    expect(await page.getAttribute('[data-node="tokenize"]', 'data-state')).toBe('cached')
    expect(await page.getAttribute('[data-node="merge"]', 'data-state')).toBe('done')

    // The data as the model saw it: the tokenize checks, and the labels of a sample are its answer and eos.
    await page.waitForSelector('.sample')
    expect(await page.textContent('#data-checks')).toContain('✔ eos supervised')
    const trained = await page.locator('.sample[data-sample="0"] .tok.trained').allTextContents()
    expect(trained.join('')).toMatch(/^\w+<\|im_end\|>$/)
    if (shots) {
      const box = (await page.locator('#data').boundingBox())!
      await page.screenshot({ path: join(shots, 'data.png'), fullPage: true, clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, 420) } })
    }

    await page.waitForSelector('#chat-input')
    await page.fill('#chat-input', question)
    await page.press('#chat-input', 'Enter')
    await page.waitForSelector('.turn[data-done="true"]', { timeout: 150_000 })
    // The chat renders with the training template (ChatML here) and decodes greedily, as the
    // run's generate node did for the same question.
    expect(await page.textContent('#chat-prompt')).toContain(`<|im_start|>user\n${question}<|im_end|>\n<|im_start|>assistant\n`)
    const sample = JSON.parse(readFileSync(join(project, 'runs/tiny-chat/samples/samples.jsonl'), 'utf8').split('\n')[0]!) as { completion: string }
    expect(sample.completion.trim()).not.toBe('')
    expect(await page.textContent('.turn[data-done="true"] .answer')).toBe(sample.completion.trim())
    // Streamed: the answer arrived in pieces before the whole of it.
    expect(Number(await page.getAttribute('.turn[data-done="true"]', 'data-pieces'))).toBeGreaterThan(1)
    if (shots) await page.locator('.chat').screenshot({ path: join(shots, 'chat.png') })
    await page.evaluate('window.scrollTo(0, 0)')
    await shot('run-done')

    await page.goto(server.url)
    await page.waitForSelector('#runs')
    await page.waitForSelector('form.recipe', { state: 'attached' })
    expect(await page.textContent('#runs')).toContain('done')
    // The comparison chart has the run's training loss, every step of it.
    await page.waitForSelector('[data-metric="compare-loss"] polyline[data-series="runs/tiny-chat"]')
    expect(((await page.getAttribute('[data-metric="compare-loss"] polyline', 'points')) ?? '').split(' ')).toHaveLength(16)
    await shot('runs', 400)
    expect(existsSync(join(project, 'runs/tiny-chat/merged/config.json'))).toBe(true)
    expect(pageErrors).toEqual([])
  })
})
