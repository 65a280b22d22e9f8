// Behaviour of the Memorable handle: the same suite as the Python binding's.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Memorable } from '../index.js'
import { assertCode, HASHING, tempDir } from './helpers.mjs'

test('round trip across reopen keeps every field', async (t) => {
  const dir = tempDir(t)
  const occurredAt = new Date('2024-03-04T05:06:07.890Z')
  let mem = await Memorable.open(dir, HASHING)
  const id = await mem.remember('I adopted a puppy named Biscuit', {
    user: 'alice',
    session: 's1',
    speaker: 'alice',
    occurredAt,
    place: 'Paris',
    tags: ['pets', 'home'],
    metadata: { source: 'chat', n: 2 },
    importance: 0.7,
    kind: 'fact',
    topics: ['dogs'],
    lat: 48.85,
    lon: 2.35,
  })
  assert.equal(typeof id, 'number')
  mem.close()

  mem = await Memorable.open(dir, HASHING)
  t.after(() => mem.close())
  const m = mem.get(id)
  assert.deepEqual(
    { ...m, createdAt: undefined, updatedAt: undefined },
    {
      id,
      user: 'alice',
      text: 'I adopted a puppy named Biscuit',
      kind: 'fact',
      session: 's1',
      speaker: 'alice',
      topics: ['dogs'],
      occurredAt,
      place: 'Paris',
      lat: 48.85,
      lon: 2.35,
      tags: ['pets', 'home'],
      metadata: { source: 'chat', n: 2 },
      importance: 0.7,
      createdAt: undefined,
      updatedAt: undefined,
      version: 1,
      derivedFrom: [],
      emotion: null, // no emotional state in session s1, no text classifier
    },
  )
  assert.ok(m.createdAt instanceof Date && m.updatedAt instanceof Date)
  const hits = await mem.recall('what is my puppy called?', { user: 'alice', limit: 5 })
  assert.equal(hits[0].memory.id, id)
  assert.equal(typeof hits[0].score, 'number')
  // The score is the sum of the breakdown's terms (docs/node.md).
  const b = hits[0].breakdown
  const terms = [b.fused, b.context, b.recency, b.importance, b.arousal, b.access, b.mood, b.who, b.date]
  assert.ok(Math.abs(hits[0].score - terms.reduce((x, y) => x + y, 0)) < 1e-5)
  assert.deepEqual(Object.keys(b).sort(), [
    'access',
    'arousal',
    'context',
    'date',
    'fused',
    'importance',
    'keyword',
    'keywordRank',
    'mood',
    'recency',
    'semantic',
    'semanticRank',
    'who',
  ])
  assert.equal(mem.stats().memories, 1)
})

test('defaults of a minimal memory', async () => {
  const mem = Memorable.openInMemory(HASHING)
  const id = await mem.remember('hello there', { user: 'alice' })
  const m = mem.get(id)
  assert.equal(m.kind, 'message')
  assert.equal(m.session, null)
  assert.equal(m.speaker, null)
  assert.equal(m.place, null)
  assert.equal(m.lat, null)
  assert.deepEqual(m.tags, [])
  assert.deepEqual(m.metadata, {})
  assert.equal(m.importance, 0.5)
  assert.ok(Math.abs(m.occurredAt.getTime() - Date.now()) < 60_000)
  const s = mem.stats()
  assert.equal(s.path, null)
  assert.equal(s.embedder.dim, 384)
  assert.equal(s.users, 1)
  mem.close()
})

test('open options: camelCase and snake_case config fields', async (t) => {
  const a = await Memorable.open(tempDir(t), { ...HASHING, maxTextChars: 10, hnsw: { efSearch: 8, sparseSearch: false } })
  await assertCode(assert, () => a.remember('x'.repeat(11), { user: 'u' }), 'TEXT_TOO_LONG')
  a.close()
  const b = Memorable.openInMemory({ embedder: 'hashing', max_text_chars: 10, hashing_dim: 64 })
  assert.equal(b.stats().embedder.dim, 64)
  await assertCode(assert, () => b.remember('x'.repeat(11), { user: 'u' }), 'TEXT_TOO_LONG')
  b.close()
  await assertCode(assert, () => Memorable.open(tempDir(t), { noSuchField: 1 }), 'INVALID_CONFIG')
  await assertCode(assert, () => Memorable.openInMemory({ hashingDim: 1 }), 'INVALID_CONFIG')
})

test('filters: session, speaker, tags, kinds, since/until', async () => {
  const mem = Memorable.openInMemory(HASHING)
  const day = (d) => new Date(`2024-01-${String(d).padStart(2, '0')}T12:00:00Z`)
  const ids = await mem.rememberBatch([
    { user: 'alice', text: 'coffee with bob at the cafe', session: 's1', speaker: 'alice', tags: ['social'], occurredAt: day(1) },
    { user: 'alice', text: 'coffee beans order arrived', session: 's2', speaker: 'shop', tags: ['shopping'], occurredAt: day(5), kind: 'event' },
    { user: 'alice', text: 'coffee tasting with carol', session: 's1', speaker: 'carol', tags: ['social', 'food'], occurredAt: day(10) },
  ])
  const recall = async (opts) => (await mem.recall('coffee', { user: 'alice', ...opts })).map((h) => h.memory.id).sort()
  assert.deepEqual(await recall({}), [...ids].sort())
  assert.deepEqual(await recall({ session: 's1' }), [ids[0], ids[2]])
  assert.deepEqual(await recall({ speaker: 'shop' }), [ids[1]])
  assert.deepEqual(await recall({ tags: ['social'] }), [ids[0], ids[2]])
  assert.deepEqual(await recall({ tags: ['social', 'food'] }), [ids[2]])
  assert.deepEqual(await recall({ kinds: ['event'] }), [ids[1]])
  assert.deepEqual(await recall({ since: day(5) }), [ids[1], ids[2]])
  assert.deepEqual(await recall({ until: day(5) }), [ids[0]])
  assert.deepEqual(await recall({ since: day(2), until: day(10) }), [ids[1]])
  assert.deepEqual(await recall({ limit: 1 }).then((r) => r.length), 1)

  // recent: newest first by occurredAt, same filters.
  assert.deepEqual(mem.recent({ user: 'alice' }).map((m) => m.id), [ids[2], ids[1], ids[0]])
  assert.deepEqual(mem.recent({ user: 'alice', limit: 2 }).map((m) => m.id), [ids[2], ids[1]])
  assert.deepEqual(mem.recent({ user: 'alice', session: 's1', until: day(10) }).map((m) => m.id), [ids[0]])
  assert.deepEqual(mem.recent({ user: 'nobody' }), [])
  await assertCode(assert, () => mem.recall('coffee', { user: 'alice', since: day(9), until: day(1) }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.recall('coffee', { user: 'alice', limit: 0 }), 'INVALID_INPUT')
  mem.close()
})

test('update and history', async () => {
  const mem = Memorable.openInMemory(HASHING)
  const id = await mem.remember('I live in Berlin', { user: 'alice', tags: ['home'] })
  const updated = await mem.update(id, { text: 'I live in Lisbon', importance: 0.9, metadata: { moved: true } })
  assert.equal(updated.text, 'I live in Lisbon')
  assert.equal(updated.version, 2)
  assert.equal(updated.importance, 0.9)
  assert.deepEqual(updated.tags, ['home'])
  assert.deepEqual(updated.metadata, { moved: true })
  const history = mem.history(id)
  assert.deepEqual(history.map((v) => [v.version, v.text]), [[1, 'I live in Berlin'], [2, 'I live in Lisbon']])
  assert.ok(history[0].validTo instanceof Date)
  assert.equal(history[1].validTo, null)
  const hits = await mem.recall('Lisbon', { user: 'alice' })
  assert.equal(hits[0].memory.id, id)
  await assertCode(assert, () => mem.update(id, { text: '' }), 'EMPTY_TEXT')
  await assertCode(assert, () => mem.update(12345, { text: 'x' }), 'NOT_FOUND')
  mem.close()
})

test('forget erases one memory', async () => {
  const mem = Memorable.openInMemory(HASHING)
  const [keep, gone] = await mem.rememberBatch([
    { user: 'alice', text: 'my cat is called Tom' },
    { user: 'alice', text: 'my cat likes tuna' },
  ])
  mem.forget(gone)
  assert.throws(() => mem.get(gone), { code: 'NOT_FOUND' })
  assert.throws(() => mem.history(gone), { code: 'NOT_FOUND' })
  assert.throws(() => mem.forget(gone), { code: 'NOT_FOUND' })
  const hits = await mem.recall('cat tuna', { user: 'alice' })
  assert.deepEqual(hits.map((h) => h.memory.id), [keep])
  assert.equal(mem.stats().memories, 1)
  mem.close()
})

test('forgetUser erases a user and only that user', async () => {
  const mem = Memorable.openInMemory(HASHING)
  await mem.rememberBatch([
    { user: 'alice', text: 'alice likes tea' },
    { user: 'alice', text: 'alice likes jazz' },
    { user: 'bob', text: 'bob likes tea' },
  ])
  assert.equal(mem.forgetUser('alice'), 2)
  assert.equal(mem.forgetUser('alice'), 0)
  assert.deepEqual(await mem.recall('tea', { user: 'alice' }), [])
  assert.equal((await mem.recall('tea', { user: 'bob' })).length, 1)
  assert.throws(() => mem.forgetUser('  '), { code: 'MISSING_USER' })
  mem.close()
})

test('users are isolated', async () => {
  const mem = Memorable.openInMemory(HASHING)
  const a = await mem.remember('my secret password hint is blue whale', { user: 'alice' })
  const b = await mem.remember('bob enjoys sailing', { user: 'bob' })
  const bobs = await mem.recall('secret password blue whale', { user: 'bob', limit: 10 })
  assert.deepEqual(bobs.map((h) => h.memory.id), [b])
  assert.ok(bobs.every((h) => h.memory.user === 'bob'))
  assert.deepEqual(mem.recent({ user: 'alice' }).map((m) => m.id), [a])
  assert.deepEqual(await mem.recall('anything', { user: 'carol' }), [])
  mem.close()
})

test('maxIndexMemoryMb: loading an index evicts the least recently used past the budget', async (t) => {
  const mem = await Memorable.open(tempDir(t), { ...HASHING, maxIndexMemoryMb: 1 })
  for (const user of ['alice', 'bob']) {
    await mem.rememberBatch(Array.from({ length: 500 }, (_, i) => ({ text: `${user} note ${i}`, user })))
  }
  assert.ok((await mem.recall('note 7', { user: 'alice' })).length > 0)
  assert.ok((await mem.recall('note 7', { user: 'bob' })).length > 0)
  // 500 vectors of 384 floats with their graph are over 1 MiB: only the index in use stays.
  const loaded = mem.stats().loadedIndexes
  assert.deepEqual(loaded.map((i) => i.user), ['bob'])
  assert.ok(loaded[0].approxBytes > 500 * 384 * 4, JSON.stringify(loaded[0]))
  assert.equal((await mem.recall('note 7', { user: 'alice' }))[0].memory.user, 'alice')
  assert.deepEqual(mem.stats().loadedIndexes.map((i) => i.user), ['alice'])
  mem.close()
  await assertCode(assert, () => Memorable.openInMemory({ ...HASHING, maxIndexMemoryMb: 0 }), 'INVALID_CONFIG')
})

test('checkpoint, stats and reopen after checkpoint', async (t) => {
  const dir = tempDir(t)
  const mem = await Memorable.open(dir, HASHING)
  await mem.remember('a durable thought', { user: 'alice' })
  await mem.recall('durable', { user: 'alice' })
  mem.checkpoint()
  const s = mem.stats()
  assert.equal(s.path, dir)
  assert.equal(s.memories, 1)
  assert.equal(s.loadedIndexes[0].user, 'alice')
  assert.ok(['dump', 'rebuilt'].includes(s.loadedIndexes[0].origin))
  assert.equal(s.loadedIndexes[0].sparse, true, 'hashing vectors: exact sparse search')
  mem.close()
  mem.close() // closing twice is fine
  const again = await Memorable.open(dir, HASHING)
  assert.equal((await again.recall('durable', { user: 'alice' })).length, 1)
  again.close()
})

test('ids are plain numbers and negative ids are rejected', async () => {
  const mem = Memorable.openInMemory(HASHING)
  const id = await mem.remember('x marks the spot', { user: 'alice' })
  assert.ok(Number.isSafeInteger(id) && id > 0)
  assert.throws(() => mem.get(-1), { code: 'INVALID_INPUT' })
  mem.close()
})

test('clientKey makes remember idempotent', async (t) => {
  const mem = Memorable.openInMemory(HASHING)
  t.after(() => mem.close())
  const first = await mem.remember('paid the plumber', { user: 'alice', clientKey: 'req-1' })
  assert.equal(await mem.remember('paid the plumber', { user: 'alice', clientKey: 'req-1' }), first)
  const ids = await mem.rememberBatch([
    { text: 'paid the plumber', user: 'alice', clientKey: 'req-1' },
    { text: 'booked the boiler check', user: 'alice', clientKey: 'req-2' },
  ])
  assert.equal(ids[0], first)
  assert.notEqual(ids[1], first)
  assert.equal(mem.stats().memories, 2)
  await assertCode(assert, () => mem.remember('x', { user: 'alice', clientKey: '' }), 'INVALID_INPUT')
})
