// Model selection, re-embedding and recall modes. The MiniLM tests need the model in the
// cache (scripts/fetch-model.sh, as CI does); without it they FAIL, they never skip.
import assert from 'node:assert/strict'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

import { Memorable } from '../index.js'
import { assertCode, HASHING, tempDir } from './helpers.mjs'

/** The model cache, as scripts/fetch-model.sh and the core locate it. */
const modelCache =
  process.env.MEMORABLE_MODEL_DIR ||
  (process.env.MEMORABLE_HOME && join(process.env.MEMORABLE_HOME, 'models')) ||
  join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'memorable', 'models')
const FETCH_HINT = `MiniLM must be in the model cache (${modelCache}): run scripts/fetch-model.sh`

/** Assert the report says MiniLM was chosen, else fail with the fetch hint and the reason. */
function assertMiniLM(selection) {
  assert.equal(
    selection.chosen,
    'minilm',
    `${FETCH_HINT}; the store chose ${selection.chosen}: ${selection.fallbackReason ?? JSON.stringify(selection.decisions)}`,
  )
}

test('selectionReport with the hashing embedder', async (t) => {
  const mem = await Memorable.open(tempDir(t), HASHING)
  t.after(() => mem.close())
  const r = mem.selectionReport()
  assert.deepEqual(Object.keys(r).sort(), [
    'chosen',
    'decisions',
    'device',
    'environment',
    'fallback',
    'fallbackReason',
    'limits',
    'loadMs',
    'modelDir',
    'modelId',
    'notes',
    'requested',
    'role',
    'warmUpMs',
  ])
  assert.equal(r.role, 'embedding')
  assert.equal(r.requested, 'hashing')
  assert.equal(r.chosen, 'hashing')
  assert.equal(r.device, 'cpu')
  assert.equal(typeof r.modelId, 'string')
  assert.equal(typeof r.fallback, 'boolean')
  assert.ok(r.fallbackReason === null || typeof r.fallbackReason === 'string')
  assert.ok(Number.isInteger(r.limits.threads) && Number.isInteger(r.limits.batchSize))
  assert.ok(r.environment === null || typeof r.environment === 'object')
  if (r.environment) {
    assert.ok(['local', 'server'].includes(r.environment.profile), r.environment.profile)
    assert.ok(r.environment.cpus >= 1)
    for (const k of ['cuda', 'metal', 'candle']) assert.equal(typeof r.environment[k], 'boolean')
  }
  assert.ok(r.decisions.length >= 1)
  for (const d of r.decisions) {
    assert.deepEqual(Object.keys(d).sort(), ['model', 'outcome', 'reason'])
    assert.ok(['chosen', 'candidate', 'skipped', 'failed'].includes(d.outcome), d.outcome)
  }
  assert.ok(r.decisions.some((d) => d.model === 'hashing' && d.outcome === 'chosen'))
  assert.ok(Array.isArray(r.notes))
  assert.equal(typeof r.loadMs, 'number')
  assert.equal(typeof r.warmUpMs, 'number')

  // stats() carries the same report, the embedder's fallback reason, and index health.
  const s = mem.stats()
  assert.deepEqual(s.selection, r)
  assert.equal(s.embedder.modelId, r.modelId)
  assert.equal(s.embedder.fallbackReason, r.fallbackReason)
  assert.equal(s.reembed, null)
  await mem.remember('pending or not, it is counted', { user: 'alice' })
  await mem.recall('counted', { user: 'alice' })
  const [index] = mem.stats().loadedIndexes
  assert.equal(index.user, 'alice')
  assert.ok(Number.isInteger(index.pending) && index.pending >= 0 && index.pending <= index.live)
})

test('profile and modelDir options reach the selection', async (t) => {
  const dir = tempDir(t)
  const mem = Memorable.openInMemory({ embedder: 'hashing', profile: 'server', modelDir: dir })
  const r = mem.selectionReport()
  assert.equal(r.environment?.profile, 'server')
  assert.equal(r.modelDir, dir)
  mem.close()
  await assertCode(assert, () => Memorable.openInMemory({ profile: 'no-such-profile' }), 'INVALID_CONFIG')
  await assertCode(assert, () => Memorable.open(tempDir(t), { embedder: 'no-such-model' }), 'INVALID_CONFIG')
})

test('the default embedder is MiniLM when it is cached', async (t) => {
  const mem = await Memorable.open(tempDir(t))
  t.after(() => mem.close())
  const s = mem.stats()
  assertMiniLM(s.selection)
  assert.equal(s.selection.requested, 'auto')
  assert.equal(s.embedder.fallback, false)
  assert.equal(s.embedder.fallbackReason, null)
  assert.equal(s.embedder.dim, 384)
})

test('reembed hashing → minilm: throw, pause, resume, complete', async (t) => {
  const dir = tempDir(t)
  let mem = await Memorable.open(dir, HASHING)
  const hashingId = mem.stats().embedder.modelId
  // More than two reembed batches (the core commits max(limits.batchSize, 16) × 4 per batch).
  const n = Math.max(mem.selectionReport().limits.batchSize, 16) * 4 * 3 + 10
  const ids = await mem.rememberBatch(
    Array.from({ length: n }, (_, i) => ({
      user: `user${i % 3}`,
      text: i === 7 ? 'I adopted a puppy named Biscuit' : `note ${i} about errand number ${i % 17}`,
    })),
  )

  // A callback that throws pauses the migration and rejects with what it threw.
  const boom = new Error('boom')
  await assert.rejects(mem.reembed('minilm', () => { throw boom }), (err) => {
    assert.notEqual(err.code, 'MODEL', `${FETCH_HINT}: ${err.message}`)
    return err === boom
  })
  const paused = mem.stats().reembed
  assert.ok(paused, 'stats().reembed reports the migration in progress')
  assert.ok(paused.done > 0 && paused.done < n, JSON.stringify(paused))
  assert.equal(paused.total, n)
  assert.equal(mem.stats().embedder.modelId, hashingId)

  // Returning false pauses: completed = false, the store keeps its model.
  const first = await mem.reembed('minilm', () => false)
  assert.equal(first.completed, false)
  assert.equal(first.previousModelId, hashingId)
  assert.equal(first.modelId, hashingId)
  assert.ok(first.reembedded > 0 && first.reembedded < n - paused.done)
  assert.equal(mem.stats().embedder.modelId, hashingId)

  // A second call resumes; the callback runs on the JS thread with { targetModelId, done, total }.
  const seen = []
  const done = await mem.reembed('minilm', (p) => {
    seen.push(p)
  })
  assert.equal(done.completed, true, `${FETCH_HINT}`)
  assert.equal(done.previousModelId, hashingId)
  assert.notEqual(done.modelId, hashingId)
  assert.equal(done.reembedded, n - paused.done - first.reembedded)
  assert.ok(seen.length >= 1)
  for (const p of seen) {
    assert.deepEqual(Object.keys(p).sort(), ['done', 'targetModelId', 'total'])
    assert.equal(p.targetModelId, done.modelId)
    assert.equal(p.total, n)
  }
  assert.deepEqual(seen.map((p) => p.done), [...seen.map((p) => p.done)].sort((a, b) => a - b))
  assert.equal(seen.at(-1).done, n)

  const s = mem.stats()
  assert.equal(s.embedder.modelId, done.modelId)
  assert.equal(s.embedder.fallback, false)
  assert.equal(s.reembed, null)
  assertMiniLM(s.selection)
  const [hit] = await mem.recall('what is my dog called?', { user: 'user1', limit: 1, mode: 'semantic' })
  assert.equal(hit.memory.id, ids[7])
  mem.close()

  // The store now belongs to MiniLM: the default opens it with MiniLM, hashing is refused.
  await assertCode(assert, () => Memorable.open(dir, HASHING), 'MODEL_MISMATCH')
  mem = await Memorable.open(dir)
  assert.equal(mem.stats().embedder.modelId, done.modelId)
  assert.equal(mem.stats().memories, n)
  mem.close()
})

test('reembed errors and no-ops', async (t) => {
  const mem = await Memorable.open(tempDir(t), HASHING)
  t.after(() => mem.close())
  await mem.remember('already hashed', { user: 'alice' })
  await assertCode(assert, () => mem.reembed('no-such-model'), 'INVALID_CONFIG')
  let calls = 0
  const report = await mem.reembed('hashing', () => {
    calls++
  })
  assert.deepEqual(report, {
    previousModelId: report.modelId,
    modelId: mem.stats().embedder.modelId,
    reembedded: 0,
    completed: true,
  })
  assert.equal(calls, 0)
  assert.throws(() => mem.reembed('minilm', 'not a function'))
})

test("recall mode: 'keyword' returns only keyword hits, 'semantic' only semantic ones", async () => {
  const mem = Memorable.openInMemory(HASHING)
  const [coffee, beans] = await mem.rememberBatch([
    { user: 'alice', text: 'coffee with bob at the cafe' },
    { user: 'alice', text: 'the coffee beans order arrived' },
    { user: 'alice', text: 'tea with carol in the garden' },
    { user: 'alice', text: 'a walk along the river' },
  ])
  const keyword = await mem.recall('coffee', { user: 'alice', mode: 'keyword' })
  assert.deepEqual(keyword.map((h) => h.memory.id).sort(), [coffee, beans].sort())
  for (const h of keyword) {
    assert.equal(h.breakdown.semantic, null)
    assert.equal(h.breakdown.semanticRank, null)
    assert.equal(typeof h.breakdown.keyword, 'number')
  }
  const semantic = await mem.recall('coffee', { user: 'alice', mode: 'semantic' })
  assert.equal(semantic.length, 4)
  for (const h of semantic) {
    assert.equal(h.breakdown.keyword, null)
    assert.equal(typeof h.breakdown.semantic, 'number')
  }
  // Without access tracking, so the first recall does not change the second's access term.
  const hybrid = await mem.recall('coffee', { user: 'alice', mode: 'hybrid', trackAccess: false })
  assert.deepEqual(hybrid, await mem.recall('coffee', { user: 'alice', trackAccess: false }))
  assert.deepEqual(await mem.recall('nothing matches', { user: 'alice', mode: 'keyword' }), [])
  await assertCode(assert, () => mem.recall('coffee', { user: 'alice', mode: 'fuzzy' }), 'INVALID_INPUT')
  mem.close()
})
