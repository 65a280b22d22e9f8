// Retrieval through Node: the shared ranking golden cases, windows, recent, context frame.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { Memorable } from '../index.js'
import { assertCode, HASHING } from './helpers.mjs'

const fixture = JSON.parse(readFileSync(new URL('../../tests/fixtures/ranking.json', import.meta.url), 'utf8'))

const TERMS = ['fused', 'context', 'recency', 'importance', 'arousal', 'access', 'mood', 'who', 'date']

test('ranking golden cases', async () => {
  // Node's remember takes no emotional snapshot yet (it arrives with the emotion layer's
  // binding), so the cases whose memories carry one run in the Rust, Python and C suites.
  const cases = fixture.cases.filter((c) => !c.memories.some((m) => m.emotion))
  assert.equal(cases.length, fixture.cases.length - 2)
  for (const c of cases) {
    const mem = Memorable.openInMemory(HASHING)
    try {
      const items = c.memories.map(({ key, occurred_at, ...rest }) => ({
        ...rest,
        user: fixture.user,
        ...(occurred_at ? { occurredAt: new Date(occurred_at) } : {}),
      }))
      const ids = await mem.rememberBatch(items)
      const keyOf = new Map(ids.map((id, i) => [id, c.memories[i].key]))
      const { query, at, current_mood, track_access, ...rest } = c.recall
      const hits = await mem.recall(query, {
        ...rest,
        user: fixture.user,
        ...(at ? { at: new Date(at) } : {}),
      })
      const got = hits.map((h) => keyOf.get(h.memory.id))
      if (c.first) assert.equal(got[0], c.first, `${c.name}: ${got}`)
      if (c.order) {
        const pos = c.order.map((k) => got.indexOf(k))
        assert.ok(pos.every((p, i) => p >= 0 && (i === 0 || pos[i - 1] < p)), `${c.name}: ${got}`)
      }
      for (const z of c.zero ?? []) for (const h of hits) assert.equal(h.breakdown[z], 0, `${c.name}: ${z}`)
      for (const spec of c.positive ?? []) {
        const [key, term] = spec.includes(':') ? spec.split(':') : [null, spec]
        const hit = key ? hits[got.indexOf(key)] : hits[0]
        assert.ok(hit.breakdown[term] > 0, `${c.name}: ${spec}`)
      }
      for (const h of hits) {
        const total = TERMS.reduce((s, t) => s + h.breakdown[t], 0)
        assert.ok(Math.abs(total - h.score) < 1e-4, `${c.name}: score is the sum of the breakdown`)
      }
    } finally {
      mem.close()
    }
  }
})

test('recent(user, window), recall windows and bad options', async (t) => {
  const mem = Memorable.openInMemory(HASHING)
  t.after(() => mem.close())
  const now = Date.now()
  await mem.remember('two hours ago', { user: 'u', occurredAt: new Date(now - 2 * 3600e3) })
  await mem.remember('half an hour ago', { user: 'u', occurredAt: new Date(now - 30 * 60e3) })
  await mem.remember('a minute ago', { user: 'u', occurredAt: new Date(now - 60e3) })
  assert.deepEqual(mem.recent('u', 'short').map((m) => m.text), ['a minute ago'])
  assert.deepEqual(mem.recent('u', 'medium').map((m) => m.text), ['a minute ago', 'half an hour ago'])
  assert.equal(mem.recent('u').length, 3)
  assert.deepEqual(mem.recent('u', 120).map((m) => m.text), ['a minute ago'])
  const at = new Date(now - 29 * 60e3)
  assert.deepEqual(mem.recent({ user: 'u', window: 'short', at }).map((m) => m.text), ['half an hour ago'])
  const hits = await mem.recall('ago', { user: 'u', window: 'medium', limit: 5 })
  assert.deepEqual(new Set(hits.map((h) => h.memory.text)), new Set(['a minute ago', 'half an hour ago']))
  await assertCode(assert, () => mem.recent('u', 'fortnight'), 'INVALID_INPUT')
  await assertCode(assert, () => mem.recall('x', { user: 'u', weights: { who: -1 } }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.recall('x', { user: 'u', fusion: 'average' }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.recall('x', { user: 'u', mood: { valence: 3 } }), 'INVALID_INPUT')
  const rrf = await mem.recall('ago', { user: 'u', fusion: 'rrf', trackAccess: false, currentMood: true })
  assert.equal(rrf.length, 3)
})

test('contextFrame summarizes who / what / when / where', async (t) => {
  const mem = Memorable.openInMemory(HASHING)
  t.after(() => mem.close())
  const now = Date.now()
  await mem.remember('I am planning a trip, a week in Lisbon with Priya', { user: 'ann', speaker: 'Ann', occurredAt: new Date(now - 50 * 60e3) })
  await mem.remember('The trip sounds great, book a table at Cafe Roma', { user: 'ann', speaker: 'Ben', occurredAt: new Date(now - 10 * 60e3) })
  const frame = mem.contextFrame('ann', 'long')
  assert.equal(frame.memories, 2)
  assert.deepEqual(new Set(frame.who.map((m) => m.name)), new Set(['Ann', 'Ben', 'Priya']))
  assert.deepEqual(frame.where.map((m) => m.name), ['Cafe Roma', 'Lisbon'])
  assert.deepEqual(frame.what[0], { name: 'trip', count: 2 })
  assert.deepEqual([frame.when.short, frame.when.medium, frame.when.long], [1, 2, 2])
  assert.equal(frame.emotion, null)
  assert.equal(mem.contextFrame('ann', 'short').memories, 1)
  assert.equal(mem.contextFrame('ann').window, null)
})
