import { resolve } from 'node:path'
import { Command } from 'commander'
import { z } from 'zod'
import * as core from '@tunekit/core'
import type { CliCommand, CliContext } from '../context.ts'
import { describeKey, readSchemaDocs, type KeyDoc } from '../schema-docs.ts'

type JsonObject = Record<string, unknown>

/**
 * The JSON Schema (draft 2020-12) of what a recipe file may hold: zod's input schema of
 * `recipeSchema`, every key described by its TSDoc, and a `$schema` key allowed at the top so a
 * JSON recipe can point its editor at this file.
 */
export async function recipeJsonSchema(): Promise<Record<string, unknown>> {
  const docs = await readSchemaDocs()
  // Each documented schema object, by identity: the exported zod object of the same name.
  const byObject = new Map<unknown, Map<string, KeyDoc>>()
  for (const [name, keys] of docs) {
    const schema = (core as Record<string, unknown>)[name]
    if (schema) byObject.set(schema, keys)
  }
  const json = z.toJSONSchema(core.recipeSchema, {
    io: 'input',
    // init.recipe holds a recipe object (a z.custom check): any JSON object there, parseRecipe validates it
    unrepresentable: 'any',
    override: (ctx) => {
      const keys = byObject.get(ctx.zodSchema)
      const properties = (ctx.jsonSchema as JsonObject).properties as Record<string, JsonObject> | undefined
      if (!keys || !properties) return
      for (const [key, doc] of keys) {
        const property = properties[key]
        if (property && doc.summary) property.description = describeKey(doc)
      }
    },
  }) as JsonObject
  const properties = json.properties as JsonObject
  json.title = 'tunekit recipe'
  json.properties = {
    $schema: { type: 'string', description: 'Path or URL of this JSON Schema, for editors; ignored by tunekit.' },
    ...properties,
  }
  return json
}

/** `tunekit schema [--out file]`: prints or writes the recipe JSON Schema. */
export async function schema(ctx: CliContext, options: { out?: string }): Promise<void> {
  const text = `${JSON.stringify(await recipeJsonSchema(), null, 2)}\n`
  if (!options.out) {
    ctx.out(text)
    return
  }
  const file = resolve(ctx.cwd, options.out)
  await core.writeFileAtomic(file, text)
  ctx.err(`Wrote the recipe JSON Schema to ${options.out}\n`)
}

export const schemaCommand: CliCommand = (ctx) =>
  new Command('schema')
    .description('Print (or write with --out) the JSON Schema of a recipe, for completion in JSON and YAML recipes.')
    .option('-o, --out <file>', 'write the schema to this file instead of stdout')
    .action((options: { out?: string }) => schema(ctx, options))
