// The dashboard's JSON API. Every handler names what it reads by id: a run folder from
// listRunFolders, a recipe file from the offered list; a body is data (strings checked here, the
// `--set` flags checked by the CLI's own recipe checks).
import { existsSync, readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join, resolve } from 'node:path'
import { fail, formatPlan, plan, type Graph } from '@tunekit/core'
import { modelInspector, weightShapeReader } from '../commands/recipe-flags.ts'
import { chatReply, type ChatEngines, type ChatTurn } from './chat-session.ts'
import { dataView } from './data-view.ts'
import { streamEvents } from './event-stream.ts'
import type { Launcher } from './launcher.ts'
import { checkStart, formSchema, offeredRecipe, recipeValues, type OfferedRecipe } from './recipe-form.ts'
import { findRun, listRunFolders, lossPoints, readEvents, RUN_FILES, runId, summarizeRun, type RunFolder } from './runs.ts'
import { HttpError, readJsonBody, sendJson } from './http.ts'

/** What the handlers share: the project folder, the recipe files offered, the runs started. */
export interface ApiState {
  root: string
  offered: readonly OfferedRecipe[]
  launcher: Launcher
  /** The models the chat has loaded. */
  engines: ChatEngines
}

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>

const text = (body: Record<string, unknown>, key: string): string => {
  const v = body[key]
  if (typeof v !== 'string') throw new HttpError(400, `${key}: expected a string`)
  return v
}

const texts = (body: Record<string, unknown>, key: string): string[] => {
  const v = body[key] ?? []
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new HttpError(400, `${key}: expected a list of strings`)
  return v
}

const readJson = (dir: string, name: string): unknown => {
  const file = join(dir, name)
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null
}

/** The handlers, keyed by `METHOD /path`. */
export function apiRoutes(state: ApiState): Record<string, Route> {
  const folders = (): RunFolder[] => listRunFolders(state.root, state.launcher.all().map((l) => l.runDir))
  const runOf = (id: string | null): RunFolder => findRun(folders(), id ?? '') ?? fail('UiRunNotFound', { path: 'run', value: id }, id ?? '')
  const launchInfo = (id: string): Record<string, unknown> | null => {
    const l = state.launcher.get(id)
    if (!l) return null
    const recipe = state.offered.find((r) => r.file === l.file)?.id ?? l.file
    return { recipe, set: l.set, verb: l.verb, running: state.launcher.running(id), exitCode: l.exitCode ?? null, stderr: l.stderr }
  }

  const startChecked = async (body: Record<string, unknown>): Promise<{ file: string; set: string[]; run: string; runDir: string; name: string }> => {
    const { file } = offeredRecipe(state.offered, text(body, 'recipe'))
    const set = texts(body, 'set')
    const prepared = await checkStart(state.root, file, set)
    return { file, set, run: runId(state.root, prepared.runDir), runDir: prepared.runDir, name: prepared.recipe.name }
  }

  return {
    'GET /api/runs': async (_req, res) => {
      const runs = folders().map((f) => ({ ...summarizeRun(f), launched: state.launcher.get(f.id) !== undefined }))
      sendJson(res, 200, { runs, recipes: state.offered.map((r) => r.id) })
    },
    'GET /api/losses': async (_req, res) => {
      // Every run's training loss by step, for the runs page's comparison chart.
      const runs = folders().map((f) => ({ id: f.id, points: lossPoints(readEvents(f.dir)) }))
      sendJson(res, 200, { runs: runs.filter((r) => r.points.length > 0) })
    },
    'GET /api/run': async (_req, res, url) => {
      const id = url.searchParams.get('run') ?? ''
      // A run just started has no run folder until its child has checked the recipe and compiled it.
      const starting = state.launcher.get(id) && !findRun(folders(), id)
      if (starting) return sendJson(res, 200, { starting: true, launch: launchInfo(id) })
      const run = runOf(id)
      const files = RUN_FILES.filter((f) => existsSync(join(run.dir, f)))
      sendJson(res, 200, {
        summary: summarizeRun(run),
        recipe: readJson(run.dir, 'recipe.json'),
        graph: readJson(run.dir, 'graph.json'),
        eval: readJson(run.dir, 'eval.json'),
        report: readJson(run.dir, 'report.json'),
        gguf: readJson(run.dir, 'gguf/export.json'),
        files,
        merged: existsSync(join(run.dir, 'merged', 'config.json')),
        launch: launchInfo(run.id),
      })
    },
    'GET /api/events': async (_req, res, url) => streamEvents(runOf(url.searchParams.get('run')).dir, res),
    'GET /api/plan': async (_req, res, url) => {
      const run = runOf(url.searchParams.get('run'))
      const graph = readJson(run.dir, 'graph.json') as Graph
      const recipe = readJson(run.dir, 'recipe.json') as { output: { cacheDir: string } }
      const planned = plan(graph, { cacheDir: resolve(state.root, recipe.output.cacheDir), inspectModel: modelInspector, weightShapes: weightShapeReader })
      sendJson(res, 200, { plan: planned, text: formatPlan(planned) })
    },
    'GET /api/data': async (_req, res, url) => sendJson(res, 200, await dataView(state.root, runOf(url.searchParams.get('run')).dir)),
    'GET /api/recipe-form': async (_req, res, url) => {
      const { file } = offeredRecipe(state.offered, url.searchParams.get('recipe') ?? '')
      const [schema, { values }] = await Promise.all([formSchema(), recipeValues(state.root, file)])
      sendJson(res, 200, { schema, values })
    },
    'POST /api/check': async (req, res) => {
      const checked = await startChecked(await readJsonBody(req))
      sendJson(res, 200, { ok: true, run: checked.run, name: checked.name })
    },
    'POST /api/start': async (req, res) => {
      const { file, set, run, runDir } = await startChecked(await readJsonBody(req))
      state.launcher.start({ run, runDir, file, set })
      sendJson(res, 200, { run })
    },
    'POST /api/stop': async (req, res) => {
      const run = runOf(text(await readJsonBody(req), 'run'))
      sendJson(res, 200, { stopping: state.launcher.stop(run.id) })
    },
    ...Object.fromEntries((['resume', 'merge', 'export'] as const).map((action) => [`POST /api/${action}`, async (req: IncomingMessage, res: ServerResponse) => {
      const run = runOf(text(await readJsonBody(req), 'run'))
      state.launcher.again(run.id, action === 'resume' ? 'run' : action)
      sendJson(res, 200, { run: run.id })
    }])),
    'POST /api/chat': async (req, res) => {
      const body = await readJsonBody(req)
      const run = runOf(text(body, 'run'))
      await chatReply(state.engines, state.root, run.dir, chatTurns(body.messages), res)
    },
  }
}

/** The conversation of a chat request: `{ role: 'user' | 'assistant', content }` turns. */
function chatTurns(value: unknown): ChatTurn[] {
  const ok = Array.isArray(value) && value.every((m) => m !== null && typeof m === 'object' && ['user', 'assistant', 'system'].includes((m as ChatTurn).role) && typeof (m as ChatTurn).content === 'string')
  if (!ok) throw new HttpError(400, "messages: expected a list of { role: 'user' | 'assistant' | 'system', content }")
  return (value as ChatTurn[]).map((m) => ({ role: m.role, content: m.content }))
}
