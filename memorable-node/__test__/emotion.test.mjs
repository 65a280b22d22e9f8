// The emotional layer from Node: the shared fusion golden cases, catalog spellings,
// persistence across reopen, bad input, and the snapshot on remembered memories.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { Memorable, userContext } from '../index.js'
import { assertCode, HASHING, tempDir } from './helpers.mjs'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'fixtures')
const fixture = (name) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'))

function close(got, want, tol, what) {
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} != ${want}`)
}

function check(c, state, tol) {
  const want = c.expected
  assert.equal(Object.keys(state.scores).length, 62, c.name)
  for (const [id, got] of Object.entries(state.scores)) close(got, want.scores[id] ?? 0, tol, `${c.name} ${id}`)
  for (const k of ['confidence', 'valence', 'arousal']) if (k in want) close(state[k], want[k], tol, `${c.name} ${k}`)
  assert.equal(state.dominant, want.dominant, c.name)
  for (const [k, v] of Object.entries(want.extras ?? {})) close(state.extras[k], v, tol, `${c.name} extra ${k}`)
  for (const [src, parts] of Object.entries(want.sources ?? {})) {
    const b = state.sources.find((s) => s.source === src)
    close(b.confidence, parts.confidence, tol, `${c.name} ${src}.confidence`)
    close(b.share, parts.share, tol, `${c.name} ${src}.share`)
  }
}

test('fusion matches the golden cases', async (t) => {
  // An empty model cache: opening skips checksumming the real one, 30 times over.
  const quick = { ...HASHING, modelDir: tempDir(t) }
  const f = fixture('emotion-fusion.json')
  assert.ok(f.cases.length >= 12)
  for (const c of f.cases) {
    const readings = c.readings.map((r) => ({
      context: c.name,
      source: r.source,
      scores: r.scores,
      confidence: r.confidence,
      timestamp: new Date(f.t0_ms + r.t_ms),
      semantics: r.semantics,
    }))
    const one = Memorable.openInMemory({ ...quick, emotion: c.config })
    for (const r of readings) one.observe(r)
    const batch = Memorable.openInMemory({ ...quick, emotion: c.config })
    assert.equal(await batch.observeBatch(readings), readings.length)
    const at = new Date(f.t0_ms + c.at_ms)
    check(c, one.emotionalState(c.name, at), f.tolerance)
    check(c, batch.emotionalState(c.name, at), f.tolerance)
    one.close()
    batch.close()
  }
})

test('the catalog resolves every source spelling', () => {
  const names = fixture('emotion-names.json')
  const catalog = Memorable.emotionCatalog()
  assert.equal(catalog.length, 62)
  const byAlias = new Map(catalog.flatMap((e) => e.aliases.map((a) => [a, e.id])))
  const hume = [...names.hume_legacy, ...names.hume_language_extra]
  for (const n of [...hume, ...hume.map((x) => x.toLowerCase()), ...names.goemotions]) {
    assert.ok(byAlias.has(n), n)
  }
  assert.equal(byAlias.get('surprise (positive)'), 'surprise_positive')
  assert.equal(catalog.filter((e) => e.vocabularies.includes('hume')).length, 48)
  const mem = Memorable.openInMemory(HASHING)
  hume.forEach((name, i) => {
    const s = mem.observe({ context: `c${i}`, source: 'evi', scores: { [name]: 0.5 } })
    close(s.scores[byAlias.get(name)], 0.5, 1e-6, name)
    assert.deepEqual(s.extras, {})
  })
  mem.close()
})

test('state and history survive reopen; contexts list and close', async (t) => {
  const dir = tempDir(t)
  const t0 = new Date('2024-05-01T09:00:00Z')
  const later = new Date(t0.getTime() + 60_000)
  let mem = await Memorable.open(dir, HASHING)
  mem.observe({ context: 'call', source: 'evi', scores: { Joy: 0.8 }, timestamp: t0 })
  const s = mem.observe({ context: 'call', source: 'face', scores: { joy: 0.4, 'jaw drop': 0.3 }, confidence: 0.5, timestamp: t0 })
  assert.ok(s.at instanceof Date)
  assert.equal(s.dominant, 'joy')
  await mem.observeBatch([{ context: 'other', source: 'custom:ring', scores: { calmness: 0.9 }, timestamp: t0 }])
  mem.closeContext('other')
  const state = mem.emotionalState('call', later)
  const history = mem.emotionalHistory('call')
  const contexts = mem.contexts()
  mem.close()
  assert.deepEqual(contexts.map((c) => [c.context, c.open]), [['call', true], ['other', false]])
  assert.deepEqual(contexts[0].sources, ['face', 'evi'])
  assert.equal(history.length, 2)
  assert.deepEqual(history[1].sources, [])
  close(state.extras['jaw drop'], 0.3, 1e-6, 'extra')

  mem = await Memorable.open(dir, HASHING)
  t.after(() => mem.close())
  assert.deepEqual(mem.emotionalState('call', later), state)
  assert.deepEqual(mem.emotionalHistory('call'), history)
  assert.deepEqual(mem.contexts(), contexts)
  assert.equal(mem.emotionalHistory('call', { limit: 1 }).length, 1)
  assert.equal(mem.emotionalHistory('call', { since: new Date(t0.getTime() + 1) }).length, 0)
  const stats = mem.stats().emotion
  assert.deepEqual([stats.contexts, stats.openContexts, stats.readings], [2, 1, 3])
  assert.deepEqual(stats.unknownNames, { 'jaw drop': 1 })
  assert.equal(stats.classification, false)
  assert.match(stats.classificationOffReason, /no emotion classifier/)
})

test('bad readings throw INVALID_INPUT and change nothing', async () => {
  const mem = Memorable.openInMemory(HASHING)
  mem.observe({ context: 'c', source: 'face', scores: { joy: 0.5 } })
  const look = () => [mem.contexts(), mem.emotionalHistory('c'), mem.stats().emotion]
  const before = look()
  const ok = { context: 'c', source: 'face', scores: { joy: 0.5 } }
  const bad = [
    { ...ok, scores: { joy: 1.5 } },
    { ...ok, scores: { joy: -0.1 } },
    { ...ok, scores: { joy: NaN } },
    { ...ok, confidence: -0.2 },
    { ...ok, scores: {} },
    { ...ok, timestamp: new Date(Date.now() + 3_600_000) },
    { ...ok, source: 'camera' },
    { ...ok, source: 'custom:' },
    { ...ok, scores: { joy: 0.5, Joy: 0.2 } },
    { ...ok, semantics: 'maybe' },
  ]
  for (const r of bad) {
    await assertCode(assert, () => mem.observe(r), 'INVALID_INPUT')
    await assertCode(assert, () => mem.observeBatch([ok, r]), 'INVALID_INPUT')
  }
  await assertCode(assert, () => mem.emotionalState('never'), 'NOT_FOUND')
  await assertCode(assert, () => mem.closeContext('never'), 'NOT_FOUND')
  assert.deepEqual(look(), before)
  mem.close()
})

test('sparse semantics and zero weights', () => {
  const mem = Memorable.openInMemory({ ...HASHING, emotion: { weights: { voice: 0 } } })
  mem.observe({ context: 'c', source: 'face', scores: { joy: 0.8 } })
  let s = mem.observe({ context: 'c', source: 'face', scores: { anger: 0.4 }, semantics: { kind: 'sparse', vocabulary: 'hume' } })
  // Readings are stamped "now": the milliseconds between calls decay them a little
  // (half-life 300 s), hence the relative tolerance.
  close(s.scores.joy, 0.4, 0.4e-3, 'joy')
  s = mem.observe({ context: 'c', source: 'face', scores: { anger: 0.4 }, semantics: 'sparse' })
  close(s.scores.joy, 0.8 / 3, 0.8e-3 / 3, 'joy')
  s = mem.observe({ context: 'c', source: 'voice', scores: { joy: 1, fear: 1 } })
  assert.equal(s.scores.fear, 0)
  const voice = s.sources.find((b) => b.source === 'voice')
  assert.deepEqual([voice.weight, voice.share], [0, 0])
  mem.close()
})

test('remember attaches the session state to the memory', async () => {
  const mem = Memorable.openInMemory(HASHING)
  const plain = await mem.remember('no session here', { user: 'alice' })
  assert.equal(mem.get(plain).emotion, null)
  mem.observe({ context: 's1', source: 'evi', scores: { Sadness: 0.7, Tiredness: 0.2 } })
  const id = await mem.remember('I miss my old dog', { user: 'alice', session: 's1' })
  const snap = mem.get(id).emotion
  assert.equal(snap.dominant, 'sadness')
  assert.deepEqual(snap.scores, { sadness: 0.7, tiredness: 0.2 })
  assert.ok(snap.valence < 0 && snap.confidence > 0 && snap.confidence <= 1)
  mem.close()
})

test('userContext names the context a user\'s session feeds (per_user_sessions, as memorable serve)', async (t) => {
  assert.equal(userContext('alice', 's1'), '@5:alice/s1')
  assert.equal(userContext('zoë', 's1'), '@4:zoë/s1') // the user's length in UTF-8 bytes
  const mem = await Memorable.open(tempDir(t), { ...HASHING, emotion: { per_user_sessions: true } })
  t.after(() => mem.close())
  mem.observe({ context: userContext('alice', 's1'), source: 'voice', scores: { Joy: 0.8 } })
  const id = await mem.remember('We won the match', { user: 'alice', session: 's1' })
  assert.equal(mem.get(id).emotion.dominant, 'joy')
  const bob = await mem.remember('Quiet evening', { user: 'bob', session: 's1' })
  assert.equal(mem.get(bob).emotion ?? null, null)
})
