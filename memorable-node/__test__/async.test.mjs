// Heavy calls are Promises run off the event loop; concurrent calls on one handle are safe.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Memorable } from '../index.js'
import { HASHING, tempDir } from './helpers.mjs'

test('heavy calls return Promises', async () => {
  const mem = Memorable.openInMemory(HASHING)
  const p = mem.remember('a promise', { user: 'alice' })
  assert.ok(p instanceof Promise)
  await p
  // Every Promise is awaited before close: one still queued when the handle closes would
  // reject after the test ended (CLOSED), which node:test reports as a failure.
  const recall = mem.recall('promise', { user: 'alice' })
  assert.ok(recall instanceof Promise)
  await recall
  const batch = mem.rememberBatch([])
  assert.ok(batch instanceof Promise)
  assert.deepEqual(await batch, [])
  mem.close()
})

test('the event loop keeps running during a 10,000-item rememberBatch', async (t) => {
  const mem = await Memorable.open(tempDir(t), HASHING)
  const items = Array.from({ length: 10_000 }, (_, i) => ({
    user: `user${i % 10}`,
    text: `memory number ${i} about topic ${i % 97} and thing ${(i * 7919) % 1013}`,
    tags: [`t${i % 5}`],
  }))
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  const pending = mem.rememberBatch(items)
  const ticksAtCall = ticks
  const ids = await pending
  clearInterval(timer)
  assert.equal(ids.length, 10_000)
  assert.equal(new Set(ids).size, 10_000)
  assert.ok(ticks - ticksAtCall >= 5, `timer fired only ${ticks - ticksAtCall} times during the batch`)
  assert.equal(mem.stats().memories, 10_000)
  mem.close()
})

test('concurrent Promises on one handle', async (t) => {
  const mem = await Memorable.open(tempDir(t), HASHING)
  const writes = Array.from({ length: 40 }, (_, i) =>
    mem.remember(`concurrent note ${i} about ${i % 2 ? 'apples' : 'oranges'}`, { user: `u${i % 4}` }),
  )
  const batch = mem.rememberBatch(
    Array.from({ length: 100 }, (_, i) => ({ user: 'u0', text: `batched fact ${i} about pears` })),
  )
  const reads = Array.from({ length: 20 }, (_, i) => mem.recall('apples', { user: `u${i % 4}`, limit: 5 }))
  const [ids, batchIds, hits] = await Promise.all([Promise.all(writes), batch, Promise.all(reads)])
  const all = [...ids, ...batchIds]
  assert.equal(new Set(all).size, 140)
  assert.ok(hits.every((h) => Array.isArray(h)))
  for (let u = 0; u < 4; u++) {
    const found = await mem.recall('concurrent note', { user: `u${u}`, limit: 100 })
    assert.equal(found.filter((h) => h.memory.text.startsWith('concurrent')).length, 10)
  }
  assert.equal(mem.stats().memories, 140)
  mem.close()
})
