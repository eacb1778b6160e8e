import { z } from 'zod'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import { freeze } from './freeze.ts'
import { full } from './full.ts'
import { ia3 } from './ia3.ts'
import { llamaPro } from './llama-pro.ts'
import { lora, type LoraOptions } from './lora.ts'
import { pTuning } from './p-tuning.ts'
import { prefixTuning } from './prefix-tuning.ts'
import { promptTuning } from './prompt-tuning.ts'
import type { ActivationContext, CheckModel, MethodDefinition, MethodModel, TrainableCount } from './types.ts'

/**
 * The training methods, keyed by their `kind`. Adding one is a file here (schema, checks, counts),
 * one in `@tunekit/hf/src/peft/` (its artifact layout), one in `@tunekit/tfjs/src/methods/` and an
 * entry in the torch worker's `methods.py`; nothing else switches on the kind.
 */
export const methods = { lora, full, freeze, ia3, 'prompt-tuning': promptTuning, 'p-tuning': pTuning, 'prefix-tuning': prefixTuning, 'llama-pro': llamaPro } satisfies Record<string, MethodDefinition>

export type MethodKind = keyof typeof methods

/** The recipe's `method` key: one object per method, told apart by `kind`. */
export const methodSchema = z.discriminatedUnion('kind', [lora.schema, full.schema, freeze.schema, ia3.schema, promptTuning.schema, pTuning.schema, prefixTuning.schema, llamaPro.schema])

export type MethodInput = z.input<typeof methodSchema>
/** A method with every default filled in; LoRA's is the recipe's `lora` group plus `kind: 'lora'`. */
export type MethodOptions = z.output<typeof methodSchema>
export type MethodOf<K extends MethodKind> = Extract<MethodOptions, { kind: K }>

const definition = <K extends MethodKind>(kind: K): MethodDefinition => methods[kind] as MethodDefinition

/** The method a resolved recipe trains with: `method`, or LoRA from the `lora` key. */
export function resolveMethod(recipe: { method?: MethodOptions | undefined; lora: LoraOptions }): MethodOptions {
  return recipe.method ?? { kind: 'lora', ...recipe.lora }
}

export function checkMethod(method: Partial<MethodOptions> & { kind: MethodKind }, model: CheckModel, at: string): Issue[] {
  return definition(method.kind).check(method, model, at)
}

export function countTrainable(method: MethodOptions, model: MethodModel): TrainableCount {
  return definition(method.kind).count(method, model)
}

/** Whether `merge` can fold the method's artifact into the base (every method but the prompt-learning ones and LLaMA Pro). */
export function methodMerges(method: { kind: MethodKind }): boolean {
  return definition(method.kind).mergeable !== false
}

export function methodActivationBytes(method: MethodOptions, ctx: ActivationContext): number {
  return definition(method.kind).activationBytes(method, ctx)
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const isKind = (k: unknown): k is MethodKind => typeof k === 'string' && Object.hasOwn(methods, k)
const keysOf = (kind: MethodKind): string[] => Object.keys(methods[kind].schema.shape)

/**
 * Options given for a method the recipe does not train with, read from the recipe as written
 * (defaults would hide them): the `lora` key beside a non-LoRA method, LoRA twice, and a key of
 * one method inside another's `method` object (`trainableLayers` on `full`). Zod would call the
 * last one an unknown key; this names the method it belongs to. Then what the chosen method rules
 * out in the rest of the recipe (its `recipeIssues`: prompt tuning's merge, packing and stages).
 */
export function methodChoiceIssues(input: unknown): Issue[] {
  const raw = isPlainObject(input) ? input : {}
  const method = raw.method
  if (!isPlainObject(method) || !isKind(method.kind)) return []
  const kind = method.kind
  const issues: Issue[] = []
  if (raw.lora !== undefined) {
    issues.push(kind === 'lora'
      ? issue('MethodGivenTwice', { path: 'lora', value: raw.lora })
      : issue('OptionOfAnotherMethod', { path: 'lora', value: raw.lora, hintArgs: ['the `lora` key', 'leave out `method` to train LoRA'] }, 'lora', 'lora', kind))
  }
  const own = keysOf(kind)
  for (const key of Object.keys(method)) {
    if (own.includes(key)) continue
    const owner = (Object.keys(methods) as MethodKind[]).find((k) => k !== kind && keysOf(k).includes(key))
    if (owner) issues.push(issue('OptionOfAnotherMethod', { path: `method.${key}`, value: method[key], hintArgs: [`method.${key}`, `set method.kind to '${owner}'`] }, key, owner, kind))
  }
  const definition: MethodDefinition = methods[kind]
  return [...issues, ...(definition.recipeIssues?.(raw) ?? [])]
}

export type { ActivationContext, CheckModel, MethodDefinition, MethodModel, TrainableCount } from './types.ts'
