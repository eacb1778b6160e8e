import { z } from 'zod'

// A node's params hold resolved recipe values: every default is already filled in by the recipe
// schema, so a node schema must not carry a second copy of them. `resolvedSchema` derives a node's
// params schema from a recipe group's schema by dropping every `.default()` (the key becomes
// required), keeping the shapes, ranges and TSDoc'd keys defined once in schema/*.ts.

type Schema = z.core.$ZodType

function strip(schema: Schema): Schema {
  if (schema instanceof z.ZodDefault) return strip(schema.unwrap())
  if (schema instanceof z.ZodOptional) {
    const inner = strip(schema.unwrap())
    return inner === schema.unwrap() ? schema : z.optional(inner)
  }
  if (schema instanceof z.ZodObject) {
    const shape: Record<string, Schema> = {}
    let changed = false
    for (const [key, child] of Object.entries(schema.shape as Record<string, Schema>)) {
      shape[key] = strip(child)
      changed ||= shape[key] !== child
    }
    if (!changed) return schema
    // Every recipe group is a strictObject: unknown keys stay an error in node params too.
    return schema._zod.def.catchall instanceof z.ZodNever ? z.strictObject(shape) : z.object(shape)
  }
  if (schema instanceof z.ZodDiscriminatedUnion) {
    const options = (schema.options as Schema[]).map(strip)
    if (options.every((o, i) => o === schema.options[i])) return schema
    return z.discriminatedUnion(schema._zod.def.discriminator, options as [z.ZodObject, ...z.ZodObject[]])
  }
  if (schema instanceof z.ZodUnion) {
    const options = (schema.options as Schema[]).map(strip)
    if (options.every((o, i) => o === schema.options[i])) return schema
    return z.union(options as [Schema, ...Schema[]])
  }
  if (schema instanceof z.ZodArray) {
    const element = strip(schema.element)
    return element === schema.element ? schema : z.array(element)
  }
  if (schema instanceof z.ZodRecord) {
    const value = strip(schema.valueType)
    return value === schema.valueType ? schema : z.record(schema.keyType, value)
  }
  return schema
}

/**
 * The schema of a recipe group's resolved values: the same keys, types and ranges, with every
 * `.default()` removed, so a key the recipe schema defaults is required here. Node params schemas
 * are built from these: defaults live in the recipe schema only.
 */
export function resolvedSchema<S extends z.ZodType>(schema: S): z.ZodType<z.output<S>> {
  // The rebuilt schema accepts exactly the recipe schema's output type; zod cannot infer that
  // through the rebuild, so the one cast lives here.
  return strip(schema) as z.ZodType<z.output<S>>
}

/** Each key of an object schema's shape through {@link resolvedSchema}, optional keys kept optional: for spreading into a node schema. */
export function resolvedShape<T extends z.ZodRawShape>(
  shape: T,
): { [K in keyof T]: T[K] extends z.ZodOptional<infer I> ? z.ZodOptional<z.ZodType<z.output<I>>> : z.ZodType<z.output<T[K]>> } {
  const out: Record<string, Schema> = {}
  for (const [key, child] of Object.entries(shape)) out[key] = strip(child)
  return out as { [K in keyof T]: T[K] extends z.ZodOptional<infer I> ? z.ZodOptional<z.ZodType<z.output<I>>> : z.ZodType<z.output<T[K]>> }
}
