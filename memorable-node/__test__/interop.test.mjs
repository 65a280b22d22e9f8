// A store written from Node is read by the Rust CLI (and the other way round).
// The CLI is $MEMORABLE_BIN (default <repo>/target/release/memorable); without it this FAILS.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { Memorable } from '../index.js'
import { HASHING, tempDir } from './helpers.mjs'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const bin = process.env.MEMORABLE_BIN || join(repo, 'target', 'release', 'memorable')

function cli(store, ...args) {
  assert.ok(existsSync(bin), `the memorable CLI is missing at ${bin} (build it: cargo build --release, or set MEMORABLE_BIN)`)
  return JSON.parse(execFileSync(bin, ['--store', store, ...args], { encoding: 'utf8' }))
}

test('a store written from Node is read by the CLI', async (t) => {
  const dir = tempDir(t)
  const mem = await Memorable.open(dir, HASHING)
  const puppy = await mem.remember('I adopted a puppy named Biscuit', { user: 'alice' })
  await mem.rememberBatch([
    { user: 'alice', text: 'The quarterly report is due on Friday' },
    { user: 'bob', text: 'Bob plays the cello' },
  ])
  mem.close() // one process at a time holds the store

  assert.equal(cli(dir, 'stats', '--json').memories, 3)
  const hits = cli(dir, 'recall', '--user', 'alice', '--limit', '2', '--json', 'what is my puppy called?')
  assert.ok(Array.isArray(hits) && hits.length === 2)
  assert.equal(hits[0].id, puppy)
  assert.equal(hits[0].text, 'I adopted a puppy named Biscuit')
  assert.equal(typeof hits[0].score, 'number')
})

test('a memory written by the CLI is read from Node', async (t) => {
  const dir = tempDir(t)
  const { id } = cli(dir, 'remember', '--user', 'alice', '--json', 'My sister lives in Lisbon')
  assert.equal(typeof id, 'number')
  // No embedder option: an existing store is opened with the model its vectors were made with.
  const mem = await Memorable.open(dir)
  t.after(() => mem.close())
  assert.equal(mem.get(id).text, 'My sister lives in Lisbon')
  const hits = await mem.recall('where does my sister live?', { user: 'alice' })
  assert.equal(hits[0].memory.id, id)
})
