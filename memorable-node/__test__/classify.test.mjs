// Text emotion classification: `classify` with the shipped GoEmotions classifier on MiniLM,
// and its refusal (code CLASSIFIER_UNAVAILABLE, with the reason) on other embedders. Needs
// MiniLM in the model cache (scripts/fetch-model.sh); without it these FAIL, never skip.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Memorable } from '../index.js'
import { assertCode, HASHING } from './helpers.mjs'

const FETCH_HINT = 'MiniLM must be in the model cache: run scripts/fetch-model.sh'

test('classify reads emotions with the shipped classifier', async (t) => {
  const mem = Memorable.openInMemory({ embedder: 'minilm' })
  t.after(() => mem.close())
  assert.equal(mem.stats().embedder.modelId, 'sentence-transformers/all-MiniLM-L6-v2', FETCH_HINT)
  const before = mem.stats().classifier
  assert.equal(before.available, true)
  assert.equal(before.loaded, false)

  const texts = ['Thank you so much for your help, I really appreciate it!', 'What time is it?']
  const out = await mem.classify(texts)
  assert.deepEqual(out.map((r) => r.text), texts)
  assert.deepEqual(Object.keys(out[0]).sort(), ['labels', 'scores', 'text'])
  const scores = out[0].scores
  assert.equal(Object.keys(scores).length, 28)
  assert.ok(Object.values(scores).every((p) => p >= 0 && p <= 1))
  assert.ok(out[0].labels.includes('gratitude'), JSON.stringify(out[0].labels))
  const probs = out[0].labels.map((l) => scores[l])
  assert.deepEqual(probs, [...probs].sort((a, b) => b - a), 'labels are most probable first')

  const after = mem.stats().classifier
  assert.equal(after.loaded, true)
  assert.equal(after.reason, null)
  assert.equal(after.sharedPass, true, 'the classifier runs on the store embedder: one pass per text')

  assert.deepEqual(await mem.classify([]), [])
  await assertCode(assert, () => mem.classify(['fine', '   ']), 'EMPTY_TEXT')
})

test('classify is off with the hashing embedder, and stats say why', async (t) => {
  const mem = Memorable.openInMemory(HASHING)
  t.after(() => mem.close())
  const status = mem.stats().classifier
  assert.equal(status.available, false)
  assert.match(status.reason, /all-MiniLM-L6-v2/)
  await assertCode(assert, () => mem.classify(['hello']), 'CLASSIFIER_UNAVAILABLE')
})
