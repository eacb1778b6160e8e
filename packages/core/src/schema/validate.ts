import type { z } from 'zod'
import { issue, type Issue } from '../errors/tunekit-error.ts'

type ZodIssue = z.core.$ZodIssue

const pathOf = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '')

const valueAt = (input: unknown, path: readonly PropertyKey[]): unknown => {
  let cur: unknown = input
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<PropertyKey, unknown>)[key]
  }
  return cur
}

const typeName = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'number' && !Number.isFinite(value) ? String(value) : typeof value

const rangeText = (i: ZodIssue & { code: 'too_small' | 'too_big' }): string => {
  const small = i.code === 'too_small'
  const bound = small ? (i as { minimum: number | bigint }).minimum : (i as { maximum: number | bigint }).maximum
  const inclusive = (i as { inclusive?: boolean }).inclusive !== false
  const op = small ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<'
  switch (i.origin) {
    case 'array': return `expected an array with ${op} ${bound} item(s)`
    case 'string': return `expected a string with ${op} ${bound} character(s)`
    default: return `expected a number ${op} ${bound}`
  }
}

/** Maps zod's issues to catalog issues, with the path and the value the user gave. */
export function fromZodIssues(
  issues: readonly ZodIssue[],
  input: unknown,
  allowedKeys: (path: readonly PropertyKey[]) => string[] = () => [],
  prefix: readonly PropertyKey[] = [],
): Issue[] {
  const out: Issue[] = []
  for (const zi of issues) {
    const path = [...prefix, ...zi.path]
    const value = valueAt(input, path)
    const at = pathOf(path)
    switch (zi.code) {
      case 'unrecognized_keys': {
        const parent = valueAt(input, path) as Record<string, unknown> | undefined
        for (const key of zi.keys) {
          const allowed = allowedKeys(path)
          out.push(issue('UnknownKey', { path: pathOf([...path, key]), value: parent?.[key] }, key, allowed))
        }
        break
      }
      case 'invalid_type':
        out.push(
          value === undefined
            ? issue('MissingKey', { path: at }, zi.expected)
            : issue('InvalidType', { path: at, value }, zi.expected, typeName(value)),
        )
        break
      case 'too_small':
      case 'too_big':
        out.push(issue('OutOfRange', { path: at, value }, rangeText(zi)))
        break
      case 'invalid_value':
        // The family decides everything model-dependent: say so, with the config.json hint.
        if (at === 'model.family' && (typeof value === 'string' || value === undefined)) {
          out.push(issue('UnknownFamily', { path: at, value }, value, zi.values.map(String)))
        } else {
          out.push(issue('InvalidValue', { path: at, value }, zi.values))
        }
        break
      case 'invalid_union': {
        // A union failed: report the branch that got furthest (fewest issues), or the discriminator.
        const branches = zi.errors.filter((b) => b.length > 0).sort((a, b) => a.length - b.length)
        const best = branches[0]
        if ((zi as { note?: string }).note === 'No matching discriminator' || !best) {
          out.push(issue('InvalidRecipe', { path: at, value }, zi.message))
        } else {
          out.push(...fromZodIssues(best, input, allowedKeys, path))
        }
        break
      }
      default:
        out.push(issue('InvalidRecipe', { path: at, value }, zi.message))
    }
  }
  return out
}

type AnySchema = { _zod: { def: Record<string, unknown> }; shape?: Record<string, AnySchema> }

/** The keys an object schema accepts at `path` (through defaults, optionals and arrays). */
export function objectKeysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  let cur: AnySchema | undefined = schema
  const unwrap = (s: AnySchema | undefined): AnySchema | undefined => {
    while (s && ['default', 'optional', 'nullable', 'prefault', 'readonly'].includes(s._zod.def.type as string)) {
      s = s._zod.def.innerType as AnySchema
    }
    return s
  }
  for (const key of path) {
    cur = unwrap(cur)
    if (!cur) return []
    if (typeof key === 'number' && cur._zod.def.type === 'array') cur = cur._zod.def.element as AnySchema
    else cur = cur.shape?.[String(key)]
  }
  cur = unwrap(cur)
  return cur?.shape ? Object.keys(cur.shape) : []
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

const unwrapObject = (s: AnySchema): AnySchema | undefined => {
  let cur: AnySchema | undefined = s
  while (cur && ['default', 'optional', 'nullable', 'prefault', 'readonly'].includes(cur._zod.def.type as string)) {
    cur = cur._zod.def.innerType as AnySchema
  }
  return cur?.shape ? cur : undefined
}

/**
 * The parts of `input` that are valid on their own: every key of every (nested) object is parsed
 * alone, with its default, and kept only when it passes. Model-aware checks run on these parts, so
 * a recipe with a misspelt key still learns that its module names are wrong, in the same report.
 */
export function validParts(schema: AnySchema, input: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const raw = isPlainObject(input) ? input : {}
  for (const [key, child] of Object.entries(schema.shape ?? {})) {
    const value = raw[key]
    const object = unwrapObject(child)
    if (object && isPlainObject(value)) {
      out[key] = validParts(object, value)
      continue
    }
    const parsed = (child as unknown as z.ZodType).safeParse(value)
    if (parsed.success && parsed.data !== undefined) out[key] = parsed.data
  }
  return out
}
