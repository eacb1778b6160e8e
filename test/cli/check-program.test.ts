import { Command } from 'commander'
import { fail, issue, TunekitError } from '@tunekit/core'
import { commands, runCli, withDefaultVerb, type CliCommand } from '@tunekit/cli'
import { describe, expect, it } from 'vitest'

// The exit-code contract every command relies on (issue 6 adds run, plan, graph, … the same way):
// 0 clean, 1 a TunekitError (its issues, no stack), 2 anything else (a bug: the stack), 130 Ctrl-C.

const command = (name: string, action: (signal: AbortSignal) => Promise<void> | void): CliCommand => (ctx) =>
  new Command(name).action(() => action(ctx.signal))

async function cli(args: string[], extra: CliCommand[]): Promise<{ code: number; err: string; out: string }> {
  let out = ''
  let err = ''
  const code = await runCli(args, { commands: [...commands, ...extra], out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

describe('the tunekit program', () => {
  const commandsUnderTest = [
    command('user-mistake', () => fail('StepsUnset', { path: 'args.epochs', value: 0 })),
    command('bug', () => {
      throw new TypeError('undefined is not a function')
    }),
    command('long', (signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()))),
    command('interrupted', () => {
      throw new TunekitError([issue('Interrupted', {}, 'train')])
    }),
    command('fine', () => {}),
  ]

  it('exits 0 when a command finishes', async () => {
    expect(await cli(['fine'], commandsUnderTest)).toEqual({ code: 0, out: '', err: '' })
  })

  it('prints a TunekitError as its issues, without a stack trace, and exits 1', async () => {
    const { code, err } = await cli(['user-mistake'], commandsUnderTest)
    expect(code).toBe(1)
    expect(err).toMatchInlineSnapshot(`
      "Training length is unset
      ✖ TK207 neither args.epochs nor args.maxSteps is a positive number → at args.epochs
        value: 0
        fix: Set args.epochs (e.g. 3) or args.maxSteps.
      "
    `)
  })

  it('prints any other error with its stack and exits 2', async () => {
    const { code, err } = await cli(['bug'], commandsUnderTest)
    expect(code).toBe(2)
    expect(err).toMatch(/^tunekit crashed; this is a bug in tunekit[^\n]*\nTypeError: undefined is not a function\n\s+at /)
  })

  it('exits 130 when interrupted with Ctrl-C, or when a command reports an interruption', async () => {
    const running = cli(['long'], commandsUnderTest)
    await new Promise((r) => setTimeout(r, 50))
    process.emit('SIGINT')
    const { code, err } = await running
    expect(code).toBe(130)
    expect(err).toContain('Interrupted: stopping at the next safe point')
    expect((await cli(['interrupted'], commandsUnderTest)).code).toBe(130)
  })

  it('puts the default verb in front of flags only', () => {
    const names = commands.map((make) => make({ out: () => {}, err: () => {}, cwd: '', signal: new AbortController().signal, exitCode: 0 }).name())
    expect(names).toEqual(expect.arrayContaining(['check', 'schema']))
    const verb = names.includes('run') ? 'run' : 'check'
    expect(withDefaultVerb([], names)).toEqual([verb])
    expect(withDefaultVerb(['--model-path', 'x'], names)).toEqual([verb, '--model-path', 'x'])
    expect(withDefaultVerb(['check', 'a.ts'], names)).toEqual(['check', 'a.ts'])
    expect(withDefaultVerb(['frob'], names)).toEqual(['frob'])
  })
})
