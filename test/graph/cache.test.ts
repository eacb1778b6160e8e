import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanCache, commitArtifact, createTempDir, isCached, readMarker } from '@tunekit/core'
import { tempDir } from './helpers.ts'

const key = 'f'.repeat(64)

describe('artifact cache', () => {
  it('an artifact exists only with its marker; a folder without one is removed', () => {
    const cacheDir = tempDir('cache')
    mkdirSync(join(cacheDir, key))
    writeFileSync(join(cacheDir, key, 'half.bin'), 'x')
    expect(isCached(cacheDir, key)).toBe(false)
    expect(cleanCache(cacheDir)).toEqual([join(cacheDir, key)])
    expect(existsSync(join(cacheDir, key))).toBe(false)
  })

  it('commits by rename, replaces an older artifact, and spares the temp folders of live writers', () => {
    const cacheDir = tempDir('cache')
    for (const text of ['first', 'second']) {
      const tmp = createTempDir(cacheDir, key)
      writeFileSync(join(tmp, 'out.txt'), text)
      expect(isCached(cacheDir, key)).toBe(text === 'second')
      commitArtifact(cacheDir, key, tmp, { node: 'n', time: 1, seconds: 0.5 })
    }
    expect(readFileSync(join(cacheDir, key, 'out.txt'), 'utf8')).toBe('second')
    expect(readMarker(cacheDir, key)).toEqual({ key, node: 'n', time: 1, seconds: 0.5 })
    const live = createTempDir(cacheDir, key) // ours: this process is alive
    const dead = join(cacheDir, 'tmp', `${key.slice(0, 16)}.999999999.abcd`)
    mkdirSync(dead)
    expect(cleanCache(cacheDir)).toEqual([dead])
    expect(readdirSync(join(cacheDir, 'tmp'))).toEqual([live.split('/').at(-1)])
  })
})
