// Every error code reaches JS as an Error with `code` = the core's stable code name.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Memorable } from '../index.js'
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
