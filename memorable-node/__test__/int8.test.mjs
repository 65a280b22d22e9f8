// The int8 embedder (`minilm-int8`): a store made with it carries its own model id, recalls
// and classifies, refuses the f32 model (MODEL_MISMATCH) and reopens with `auto`. Needs MiniLM
// in the model cache (scripts/fetch-model.sh); without it this FAILS, never skips.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'

import { Memorable } from '../index.js'
import { assertCode, tempDir } from './helpers.mjs'

const INT8_ID = 'sentence-transformers/all-MiniLM-L6-v2+int8'

test('a minilm-int8 store keeps its model', async (t) => {
  const store = join(tempDir(t), 'store')
  const mem = await Memorable.open(store, { embedder: 'minilm-int8' })
  const dog = await mem.remember('Biscuit the puppy learned to sit', { user: 'ann' })
  await mem.remember('The quarterly report is due on Friday', { user: 'ann' })
  const hits = await mem.recall('what did my dog learn?', { user: 'ann', limit: 1 })
  assert.equal(hits[0].memory.id, dog)
  assert.equal(mem.stats().embedder.modelId, INT8_ID)
  const [read] = await mem.classify(['Thank you so much, I really appreciate it!'])
  assert.ok(read.labels.includes('gratitude'), JSON.stringify(read.labels))
  mem.close()
  await assertCode(assert, () => Memorable.open(store, { embedder: 'minilm' }), 'MODEL_MISMATCH')
  const again = await Memorable.open(store)
  assert.equal(again.stats().embedder.modelId, INT8_ID)
  again.close()
})
