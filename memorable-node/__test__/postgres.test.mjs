// The PostgreSQL store through Node: `Memorable.open(url)` on the test cluster that
// scripts/test.sh starts (MEMORABLE_TEST_PG_URL). Without it these tests fail, unless
// MEMORABLE_SKIP_PG=1 asks to skip them (reported as skipped).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'

import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { Memorable, restore, verify } from '../index.js'
import { assertCode, HASHING } from './helpers.mjs'

const admin = process.env.MEMORABLE_TEST_PG_URL
const skip = !admin && process.env.MEMORABLE_SKIP_PG === '1' ? 'MEMORABLE_SKIP_PG=1' : false

// A database of the test's own on the cluster, dropped afterwards.
function database(t) {
  assert.ok(admin, 'MEMORABLE_TEST_PG_URL is not set (scripts/pg-cluster.sh start)')
  const name = `node_${randomBytes(6).toString('hex')}`
  execFileSync('psql', [admin, '-qc', `CREATE DATABASE ${name}`])
  t.after(() => execFileSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]))
  return `${admin.slice(0, admin.lastIndexOf('/'))}/${name}`
}

test('round trip on PostgreSQL through a second handle', { skip }, async (t) => {
  const url = database(t)
  let mem = await Memorable.open(url, HASHING)
  const id = await mem.remember('I adopted a puppy named Biscuit', {
    user: 'alice',
    tags: ['pets'],
    metadata: { source: 'chat', n: 2 },
  })
  mem.close()
  mem = await Memorable.open(url, HASHING)
  const m = mem.get(id)
  assert.equal(m.text, 'I adopted a puppy named Biscuit')
  assert.deepEqual(m.tags, ['pets'])
  assert.deepEqual(m.metadata, { source: 'chat', n: 2 })
  const hits = await mem.recall('what is my puppy called?', { user: 'alice' })
  assert.equal(hits[0].memory.id, id)
  mem.forget(id)
  assert.throws(() => mem.get(id), (e) => e.code === 'NOT_FOUND')
  // Closed before the database is dropped (the drop ends every connection to it).
  mem.close()
})

test('backup, verify and restore of a PostgreSQL store', { skip }, async (t) => {
  const url = database(t)
  const dir = mkdtempSync(join(tmpdir(), 'memorable-pg-'))
  const mem = await Memorable.open(url, HASHING)
  const id = await mem.remember('I adopted a puppy named Biscuit', { user: 'alice', tags: ['pets'] })
  const report = await mem.backup(join(dir, 'pg.mrbak'))
  assert.equal(report.memories, 1)
  mem.close()
  assert.equal((await verify(url)).ok, true)
  await restore(join(dir, 'pg.mrbak'), join(dir, 'restored'))
  const restored = await Memorable.open(join(dir, 'restored'), HASHING)
  assert.deepEqual(restored.get(id).tags, ['pets'])
  restored.close()
  // Never over a database that holds a store.
  await assertCode(assert, () => restore(join(dir, 'pg.mrbak'), url), 'DESTINATION_EXISTS')
})

test('an unreachable server is STORE_UNAVAILABLE without the password', { skip }, async () => {
  await assertCode(assert, () => Memorable.open('postgres://app:hunter2@127.0.0.1:1/none', HASHING), 'STORE_UNAVAILABLE')
  await assert.rejects(Memorable.open('postgres://app:hunter2@127.0.0.1:1/none', HASHING), (e) => !e.message.includes('hunter2'))
})
