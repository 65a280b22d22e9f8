// Every error code reaches JS as an Error with `code` = the core's stable code name.
import assert from 'node:assert/strict'
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'

import { errorCodes, Memorable } from '../index.js'
import { assertCode, HASHING, tempDir } from './helpers.mjs'

test('input errors', async () => {
  const mem = Memorable.openInMemory({ ...HASHING, maxTextChars: 100 })
  await assertCode(assert, () => mem.remember('', { user: 'alice' }), 'EMPTY_TEXT')
  await assertCode(assert, () => mem.remember(' \n\t', { user: 'alice' }), 'EMPTY_TEXT')
  await assertCode(assert, () => mem.remember('x'.repeat(101), { user: 'alice' }), 'TEXT_TOO_LONG')
  await assertCode(assert, () => mem.remember('hello', { user: '' }), 'MISSING_USER')
  await assertCode(assert, () => mem.remember('hello', { user: '   ' }), 'MISSING_USER')
  await assertCode(assert, () => mem.recall('hello', { user: '' }), 'MISSING_USER')
  await assertCode(assert, () => mem.recall('', { user: 'alice' }), 'EMPTY_TEXT')
  await assertCode(assert, () => mem.remember('hello', { user: 'alice', metadata: [1, 2] }), 'INVALID_METADATA')
  await assertCode(assert, () => mem.remember('hello', { user: 'alice', metadata: 'text' }), 'INVALID_METADATA')
  await assertCode(assert, () => mem.remember('hello', { user: 'alice', embedding: [1, 2, 3] }), 'INVALID_VECTOR')
  await assertCode(assert, () => mem.remember('hello', { user: 'alice', importance: 2 }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.remember('hello', { user: 'alice', lat: 91 }), 'INVALID_INPUT')
  assert.throws(() => mem.get(424242), { code: 'NOT_FOUND' })
  // A batch is all or nothing; the message names the failing item.
  await assert.rejects(
    mem.rememberBatch([
      { user: 'alice', text: 'fine' },
      { user: 'alice', text: 'bad', metadata: [] },
    ]),
    (err) => err.code === 'INVALID_METADATA' && /item 1/.test(err.message),
  )
  assert.equal(mem.stats().memories, 0)
  mem.close()
})

test('a right-length embedding is accepted', async () => {
  const mem = Memorable.openInMemory({ ...HASHING, hashingDim: 8 })
  const id = await mem.remember('vector given', { user: 'alice', embedding: [1, 0, 0, 0, 0, 0, 0, 0] })
  assert.equal(mem.get(id).text, 'vector given')
  mem.close()
})

test('LOCKED: a store directory is held by one handle at a time', async (t) => {
  const dir = tempDir(t)
  const first = await Memorable.open(dir, HASHING)
  await assertCode(assert, () => Memorable.open(dir, HASHING), 'LOCKED')
  first.close()
  const second = await Memorable.open(dir, HASHING) // released by close()
  second.close()
})

test('store problems: NOT_WRITABLE, CORRUPT, NEWER_VERSION', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'plain-file'), 'x')
  await assertCode(assert, () => Memorable.open(join(dir, 'plain-file', 'store'), HASHING), 'NOT_WRITABLE')

  const bogus = join(dir, 'bogus')
  mkdirSync(bogus)
  writeFileSync(join(bogus, 'memorable.db'), Buffer.alloc(4096, 7))
  await assertCode(assert, () => Memorable.open(bogus, HASHING), 'CORRUPT')

  // A newer schema version: SQLite keeps user_version at byte 60 of the header (big-endian).
  const newer = join(dir, 'newer')
  const mem = await Memorable.open(newer, HASHING)
  await mem.remember('written by this version', { user: 'alice' })
  mem.close() // checkpoints the WAL into the database file
  const db = join(newer, 'memorable.db')
  const header = Buffer.alloc(4)
  header.writeUInt32BE(99)
  const fd = openSync(db, 'r+')
  writeSync(fd, header, 0, 4, 60)
  closeSync(fd)
  await assert.rejects(Memorable.open(newer, HASHING), (err) => err.code === 'NEWER_VERSION' && /newer/.test(err.message))
})

test('MODEL: an explicit model that is not in the cache is refused', async (t) => {
  const empty = tempDir(t)
  assert.throws(() => Memorable.openInMemory({ embedder: 'minilm', modelDir: empty }), { code: 'MODEL' })
})

test('CLOSED: every call after close fails cleanly', async () => {
  const mem = Memorable.openInMemory(HASHING)
  const id = await mem.remember('before close', { user: 'alice' })
  mem.close()
  await assertCode(assert, () => mem.remember('after', { user: 'alice' }), 'CLOSED')
  await assertCode(assert, () => mem.rememberBatch([{ user: 'alice', text: 'after' }]), 'CLOSED')
  await assertCode(assert, () => mem.recall('before', { user: 'alice' }), 'CLOSED')
  await assertCode(assert, () => mem.update(id, { text: 'x' }), 'CLOSED')
  for (const call of [
    () => mem.recent({ user: 'alice' }),
    () => mem.get(id),
    () => mem.history(id),
    () => mem.forget(id),
    () => mem.forgetUser('alice'),
    () => mem.stats(),
    () => mem.checkpoint(),
  ]) {
    assert.throws(call, { code: 'CLOSED' })
  }
  mem.close() // still fine
})

test('wrong argument types are TypeErrors from the binding layer', async () => {
  const mem = Memorable.openInMemory(HASHING)
  assert.throws(() => mem.remember('no options'))
  assert.throws(() => mem.remember('no user', {}))
  assert.throws(() => mem.remember('bad date', { user: 'a', occurredAt: 'yesterday' }))
  assert.throws(() => mem.remember('invalid date', { user: 'a', occurredAt: new Date('nope') }))
  mem.close()
})

test('errorCodes() is the core table, and docs/errors.md lists the same codes', () => {
  const doc = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'errors.md'), 'utf8')
  const documented = doc
    .split('\n')
    .map((line) => line.split('|').map((c) => c.trim()))
    .filter((cells) => cells.length > 4 && /^\d+$/.test(cells[1]))
    .map((cells) => ({ number: Number(cells[1]), name: cells[2].replaceAll('`', ''), family: cells[3] }))
  assert.deepEqual(errorCodes(), documented)
  assert.ok(errorCodes().some((c) => c.name === 'CLASSIFIER_UNAVAILABLE' && c.number === 35))
})
