// Pictures and listings from Node: the emotion timeline SVG (byte-identical to the golden the
// Rust, Python and C suites compare with), users with counts, and paging with offset.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { Memorable } from '../index.js'
import { assertCode, HASHING } from './helpers.mjs'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'fixtures')

function fixtureReadings() {
  return readFileSync(join(FIXTURES, 'timeline-readings.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const r = JSON.parse(line)
      return { ...r, timestamp: new Date(r.timestamp) }
    })
}

test('the timeline SVG matches the shared golden', async () => {
  const mem = Memorable.openInMemory(HASHING)
  await mem.observeBatch(fixtureReadings())
  const svg = mem.emotionTimelineSvg('demo')
  assert.equal(svg, readFileSync(join(FIXTURES, 'timeline.svg'), 'utf8'))
  const small = mem.emotionTimelineSvg('demo', {
    expressions: ['Sadness'],
    width: 480,
    height: 320,
    theme: 'dark',
    title: '<i>x</i>',
  })
  assert.ok(small.includes('width="480" height="320"'))
  assert.equal(small.split('class="series"').length - 1, 1)
  assert.ok(small.includes('&lt;i&gt;x&lt;/i&gt;') && !small.includes('<i>'))
  const history = mem.emotionalHistory('demo')
  assert.deepEqual(history.slice(0, 3).map((s) => s.source), ['text', 'voice', 'face'])
  await assertCode(assert, () => mem.emotionTimelineSvg('nobody'), 'NOT_FOUND')
  await assertCode(assert, () => mem.emotionTimelineSvg('demo', { theme: 'sepia' }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.emotionTimelineSvg('demo', { top: 0 }), 'INVALID_INPUT')
  mem.close()
})

test('users with counts, and offset paging', async () => {
  const mem = Memorable.openInMemory(HASHING)
  await mem.rememberBatch([0, 1, 2, 3, 4].map((i) => ({ user: 't:ann', text: `note ${i}` })))
  await mem.remember('hello', { user: 't:bob' })
  await mem.remember('hi', { user: 'other' })
  assert.deepEqual(mem.users(), [
    { user: 'other', memories: 1 },
    { user: 't:ann', memories: 5 },
    { user: 't:bob', memories: 1 },
  ])
  assert.deepEqual(mem.users('t:').map((u) => u.user), ['t:ann', 't:bob'])
  const all = mem.recent({ user: 't:ann', limit: 10 }).map((m) => m.id)
  const pages = [0, 2, 4].flatMap((offset) => mem.recent({ user: 't:ann', limit: 2, offset }).map((m) => m.id))
  assert.deepEqual(pages, all)
  const hits = await mem.recall('note', { user: 't:ann', limit: 5, trackAccess: false })
  const skipped = await mem.recall('note', { user: 't:ann', limit: 2, offset: 3, trackAccess: false })
  assert.deepEqual(skipped.map((h) => h.memory.id), hits.slice(3, 5).map((h) => h.memory.id))
  mem.close()
})

test('derived lists the memories made from one', async () => {
  const mem = Memorable.openInMemory(HASHING)
  const a = await mem.remember('we planted basil', { user: 'ann' })
  const b = await mem.remember('the fence needs paint', { user: 'ann' })
  const [summary] = await mem.rememberBatch([{ user: 'ann', text: 'garden chores', kind: 'summary', derivedFrom: [a, b] }])
  assert.deepEqual(mem.derived(a).map((m) => m.id), [summary])
  assert.deepEqual(mem.derived(summary), [])
  await assertCode(assert, () => mem.derived(424242), 'NOT_FOUND')
  mem.close()
})
