// ingestHume from Node: the recorded Hume samples (shared with the Rust and Python tests)
// move a context's fused state, as JSON text or as an object; bad input changes nothing.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { Memorable } from '../index.js'
import { assertCode, HASHING } from './helpers.mjs'

const HUME = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'fixtures', 'hume')
const NAMES = readFileSync(join(HUME, 'recorded.names.txt'), 'utf8').split('\n')
const LINES = readFileSync(join(HUME, 'recorded.jsonl'), 'utf8').split('\n')
const sample = (name) => {
  const i = NAMES.indexOf(name)
  assert.ok(i >= 0, `no sample ${name}`)
  return LINES[i]
}

test('ingestHume moves the fused state and the session memory carries it', async () => {
  const mem = Memorable.openInMemory(HASHING)
  let report = mem.ingestHume('call', sample('v1 audio result'))
  assert.deepEqual([report.messages, report.readings, report.sources], [1, 1, ['voice']])
  assert.deepEqual(report.families, ['v1_realtime'])
  assert.equal(report.state.dominant, 'interest')

  // An object (the message an app already decoded, e.g. EVI in a browser) works the same.
  report = mem.ingestHume('call', JSON.parse(sample('evi user_message')))
  assert.deepEqual(report.sources, ['evi'])
  assert.equal(report.state.dominant, 'joy')
  assert.deepEqual(report.state.sources.map((b) => b.source), ['voice', 'evi'])
  assert.equal(mem.emotionalState('call').dominant, 'joy')

  report = mem.ingestHume('call', sample('legacy error E0203'))
  assert.equal(report.readings, 0)
  assert.deepEqual([report.notices[0].severity, report.notices[0].code], ['error', 'E0203'])
  assert.equal(mem.ingestHume('quiet', sample('v1 session.created')).state, null)

  const id = await mem.remember('I finally got the job!', { user: 'alice', session: 'call' })
  assert.equal(mem.get(id).emotion.dominant, 'joy')
  mem.close()
})

test('ingestHume refuses bad input and changes nothing', async () => {
  const mem = Memorable.openInMemory(HASHING)
  mem.ingestHume('c', sample('evi user_message'))
  const before = mem.emotionalState('c').readings
  await assertCode(assert, () => mem.ingestHume('c', '{not json'), 'INVALID_INPUT')
  await assertCode(assert, () => mem.ingestHume('c', { type: 'measurement.result', expressions: { oops: 1 } }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.ingestHume(' ', sample('evi user_message')), 'INVALID_INPUT')
  assert.equal(mem.emotionalState('c').readings, before)
  assert.equal(mem.contexts().length, 1)
  mem.close()
})

test('ingestHumeLines fuses a recorded session; a bad line fuses nothing', async (t) => {
  const mem = Memorable.openInMemory(HASHING)
  t.after(() => mem.close())
  const session = readFileSync(join(HUME, 'recorded.jsonl'), 'utf8')
  const report = mem.ingestHumeLines('session', session)
  assert.equal(report.messages, session.split('\n').filter((l) => l.trim()).length)
  assert.ok(report.readings > 0 && report.state !== null)
  const before = mem.emotionalState('session').readings
  await assertCode(assert, () => mem.ingestHumeLines('session', `${sample('evi user_message')}\n{not json\n`), 'INVALID_INPUT')
  assert.equal(mem.emotionalState('session').readings, before)
})
