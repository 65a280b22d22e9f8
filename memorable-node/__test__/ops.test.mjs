// Operations from Node: metrics and the Prometheus text, health, alert callbacks (a throwing
// one included), backup / verify / restore, a damaged backup refused, per-user
// point-in-time restore, JSONL export / import.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import { Memorable, restore, verify } from '../index.js'
import { HASHING, assertCode, tempDir } from './helpers.mjs'

test('metrics count operations; the Prometheus text has the families', async () => {
  const mem = Memorable.openInMemory(HASHING)
  await mem.remember('I adopted a puppy named Biscuit', { user: 'alice' })
  await mem.rememberBatch([{ text: 'bob one', user: 'bob' }, { text: 'bob two', user: 'bob' }])
  await mem.recall('puppy', { user: 'alice' })
  await assertCode(assert, () => mem.remember('  ', { user: 'alice' }), 'EMPTY_TEXT')
  const m = mem.metrics()
  assert.equal(m.counters.memoriesWritten, 3)
  assert.equal(m.counters.recalls, 1)
  assert.deepEqual(m.errorsByCode, { EMPTY_TEXT: 1 })
  assert.equal(m.latency.remember.count, 2)
  assert.ok(m.latency.recall.p95Ms > 0)
  assert.deepEqual(m.gauges.memoriesPerUser[0], { user: 'bob', memories: 2 })
  assert.equal(m.store.backend, 'sqlite')
  const text = mem.metricsPrometheus()
  assert.match(text, /^# TYPE memorable_recall_duration_seconds summary$/m)
  assert.match(text, /^memorable_memories_written_total 3$/m)
  assert.match(text, /^memorable_errors_total\{code="EMPTY_TEXT"\} 1$/m)
  mem.close()
})

test('health', async (t) => {
  const dir = tempDir(t)
  const mem = await Memorable.open(join(dir, 's'), HASHING)
  await mem.remember('hello', { user: 'alice' })
  const h = await mem.health()
  assert.equal(h.status, 'ok')
  assert.deepEqual(h.checks.map((c) => c.name), ['store', 'index', 'model', 'disk', 'memory'])
  assert.ok(h.checkedAt.length > 0)
  mem.close()
})

test('alert callbacks fire once and resolve; a throwing callback is contained', async () => {
  const rules = [{ name: 'errs', metric: 'errors', above: 0, forMs: 0 }]
  const mem = Memorable.openInMemory({ ...HASHING, alerts: { enabled: false, rules } })
  const seen = []
  mem.onAlert(() => {
    throw new Error('a broken alert callback')
  })
  const id = mem.onAlert((e) => seen.push(e))
  await assertCode(assert, () => mem.remember('', { user: 'alice' }), 'EMPTY_TEXT')
  const fired = mem.evaluateAlerts()
  assert.deepEqual(fired.map((e) => [e.rule, e.state]), [['errs', 'firing']])
  assert.equal(mem.activeAlerts().length, 1)
  assert.deepEqual(mem.evaluateAlerts().map((e) => e.state), ['resolved'])
  await sleep(50) // callbacks run on the event loop
  assert.deepEqual(seen.map((e) => [e.rule, e.state]), [['errs', 'firing'], ['errs', 'resolved']])
  assert.equal(typeof seen[0].forMs, 'number')
  assert.equal(mem.metrics().counters.alertCallbackFailures, 2)
  await mem.remember('still fine', { user: 'alice' })
  assert.equal(mem.removeAlertCallback(id), true)
  assert.equal(mem.removeAlertCallback(id), false)
  mem.close()
})

test('alert rules change without reopening; invalid ones change nothing', async () => {
  const mem = Memorable.openInMemory({ ...HASHING, alerts: { enabled: false, rules: [{ name: 'errs', metric: 'errors', above: 5 }] } })
  assert.deepEqual(mem.alertRules(), [{ name: 'errs', metric: 'errors', above: 5, below: null, forMs: 0 }])
  await assertCode(assert, () => mem.remember('', { user: 'alice' }), 'EMPTY_TEXT')
  assert.deepEqual(mem.evaluateAlerts(), [])
  mem.setAlertRules([{ name: 'errs', metric: 'errors', above: 0, forMs: 0 }])
  await assertCode(assert, () => mem.remember('', { user: 'alice' }), 'EMPTY_TEXT')
  assert.deepEqual(mem.evaluateAlerts().map((e) => e.state), ['firing'])
  const before = mem.alertRules()
  await assertCode(assert, () => mem.setAlertRules([{ name: 'x', metric: 'errors' }]), 'INVALID_CONFIG')
  await assertCode(assert, () => mem.setAlertRules([{ name: 'x', metric: 'nope', above: 1 }]), 'INVALID_INPUT')
  assert.deepEqual(mem.alertRules(), before)
  mem.close()
})

test('the operations thread delivers alerts to JS', async () => {
  const rules = [{ name: 'errs', metric: 'errors', above: 0 }]
  const mem = Memorable.openInMemory({ ...HASHING, alerts: { intervalMs: 20, rules } })
  const fired = new Promise((resolve) => mem.onAlert((e) => e.state === 'firing' && resolve(e)))
  // The callback is weak (it never keeps Node alive on its own): a host's server would keep
  // the loop running; here a timer does.
  const keepAlive = setInterval(() => {}, 1000)
  await assertCode(assert, () => mem.remember('', { user: 'alice' }), 'EMPTY_TEXT')
  const e = await fired
  clearInterval(keepAlive)
  assert.equal(e.rule, 'errs')
  mem.close()
})

test('backup, verify, restore; a damaged backup is refused', async (t) => {
  const dir = tempDir(t)
  const mem = await Memorable.open(join(dir, 'store'), HASHING)
  const id = await mem.remember('I adopted a puppy named Biscuit', { user: 'alice' })
  const file = join(dir, 'b.mrbak')
  const report = await mem.backup(file)
  assert.equal(report.memories, 1)
  await assertCode(assert, () => mem.backup(file), 'DESTINATION_EXISTS')
  mem.close()
  const v = await verify(file)
  assert.equal(v.ok, true)
  assert.equal(v.kind, 'backup')
  assert.equal((await verify(join(dir, 'store'))).ok, true)
  const r = await restore(file, join(dir, 'restored'))
  assert.equal(r.memories, 1)
  const back = await Memorable.open(join(dir, 'restored'), HASHING)
  assert.equal(back.get(id).text, 'I adopted a puppy named Biscuit')
  back.close()

  const bytes = readFileSync(file)
  bytes[Math.floor(bytes.length / 2)] ^= 1
  writeFileSync(join(dir, 'bad.mrbak'), bytes)
  const bad = await verify(join(dir, 'bad.mrbak'))
  assert.equal(bad.ok, false)
  assert.ok(bad.problems.length > 0)
  await assertCode(assert, () => restore(join(dir, 'bad.mrbak'), join(dir, 'nope')), 'CORRUPT')
  assert.equal(existsSync(join(dir, 'nope')), false)
})

test('restoreUser and export / import', async (t) => {
  const dir = tempDir(t)
  const mem = await Memorable.open(join(dir, 'store'), HASHING)
  const a = await mem.remember('I adopted a puppy named Biscuit', { user: 'alice', place: 'Porto' })
  const b = await mem.remember('My cat hates the vacuum', { user: 'bob' })
  await sleep(10)
  const at = new Date()
  await sleep(10)
  await mem.update(a, { text: 'Biscuit is a grown dog now', place: 'Lisbon' })
  await mem.update(b, { text: 'My cat made peace with the vacuum' })
  const later = await mem.remember('I started learning the cello', { user: 'alice' })
  const report = await mem.restoreUser('alice', at)
  assert.deepEqual(report.reverted, [a])
  assert.deepEqual(report.removed, [later])
  assert.equal(mem.get(a).text, 'I adopted a puppy named Biscuit')
  assert.equal(mem.get(b).text, 'My cat made peace with the vacuum')
  assert.equal(await mem.exportUser('alice', join(dir, 'alice.jsonl'), { vectors: true }), 1)
  mem.close()
  const other = await Memorable.open(join(dir, 'other'), HASHING)
  assert.deepEqual(await other.importJsonl(join(dir, 'alice.jsonl')), { imported: 1, vectorsKept: 1, reembedded: 0 })
  assert.equal((await other.recall('puppy', { user: 'alice' }))[0].memory.place, 'Porto')
  other.close()
})
