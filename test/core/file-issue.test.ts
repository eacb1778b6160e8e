import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fileIssue, rethrowFileError } from '@tunekit/core'

const dir = mkdtempSync(join(tmpdir(), 'tunekit-file-issue-'))

/** The error fs.readFileSync throws for `path`. */
const errorOf = (path: string): unknown => {
  try {
    readFileSync(path)
  } catch (e) {
    return e
  }
  throw new Error(`${path} was readable`)
}

describe('a failed file-system call on a data path is a catalog issue', () => {
  it('EACCES (what a chmod 000 file gives a user who is not root) is DataFileUnreadable naming the file', () => {
    // Root reads any file, so the error is built as Node builds it (uv's errno -13, the open syscall);
    // test/reliability/data-inputs.test.ts reads a real chmod 000 file as an unprivileged user.
    const path = join(dir, 'secret.jsonl')
    const eacces = Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { errno: -13, code: 'EACCES', syscall: 'open', path })
    expect(fileIssue(eacces, path, 'data.source.path')).toEqual({
      code: 'TK313',
      name: 'DataFileUnreadable',
      path: 'data.source.path',
      value: path,
      message: `"${path}" cannot be read: permission denied`,
      hint: `Give this user read permission (chmod a+r "${path}", and a+rx on its folders), or run as a user who may read it.`,
      severity: 'error',
    })
    expect(fileIssue(Object.assign(new Error('EPERM'), { code: 'EPERM' }), path, 'data.source.path')?.code).toBe('TK313')
  })

  it('a real ELOOP (a link to itself) is DataSymlinkLoop, a real ENOENT DataFileNotFound', () => {
    const loop = join(dir, 'loop.jsonl')
    symlinkSync('loop.jsonl', loop)
    expect(fileIssue(errorOf(loop), loop, 'data.source.path')).toMatchObject({ code: 'TK312', value: loop })
    expect(fileIssue(errorOf(join(dir, 'nope.jsonl')), join(dir, 'nope.jsonl'), 'data.source.path')).toMatchObject({ code: 'TK311' })
  })

  it('any other error is not a user mistake: rethrown as it is (a bug: exit 2 with its trace)', () => {
    const other = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })
    expect(fileIssue(other, '/x', 'data.source.path')).toBeUndefined()
    expect(() => rethrowFileError(other, '/x', 'data.source.path')).toThrow(other)
    expect(() => rethrowFileError(new TypeError('not an errno'), '/x', 'data.source.path')).toThrow(TypeError)
  })
})
