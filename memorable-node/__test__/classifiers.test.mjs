// Custom classifiers through Node: import examples (all or nothing), train off the JS thread
// with progress, deploy when it wins, classify with the new labels, keep a candidate, deploy
// it by hand and roll back to the earlier scores, queue and cancel a job, pause / resume /
// runJob; examples, corrections and calibration. Needs MiniLM in the model cache
// (scripts/fetch-model.sh); without it these FAIL, never skip. Each store gets a model cache
// of its own (the real MiniLM linked in), so the trained versions land in the test's registry.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { Memorable } from '../index.js'
import { assertCode, HASHING, tempDir } from './helpers.mjs'

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'fixtures', 'emotion_examples.jsonl')

const modelCache =
  process.env.MEMORABLE_MODEL_DIR ||
  (process.env.MEMORABLE_HOME && join(process.env.MEMORABLE_HOME, 'models')) ||
  join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'memorable', 'models')

/** Symlink every file of `src` (subfolders mirrored, dotfiles skipped) into `dst`. */
function linkTree(src, dst) {
  mkdirSync(dst, { recursive: true })
  for (const name of readdirSync(src)) {
    if (name.startsWith('.')) continue
    const from = join(src, name)
    if (statSync(from).isDirectory()) linkTree(from, join(dst, name))
    else symlinkSync(from, join(dst, name))
  }
}

/** A store on MiniLM with a private model cache and no background training worker. */
async function openStore(t) {
  const minilm = join(modelCache, 'minilm')
  assert.ok(existsSync(join(minilm, 'model.safetensors')), `MiniLM must be in ${modelCache}: run scripts/fetch-model.sh`)
  const root = tempDir(t)
  const cache = join(root, 'models')
  linkTree(minilm, join(cache, 'minilm'))
  const mem = await Memorable.open(join(root, 'store'), {
    embedder: 'minilm',
    model_dir: cache,
    generator: 'none',
    classifiers: { run_jobs: false, personalize_min_corrections: 5 },
  })
  t.after(() => mem.close())
  return { mem, root }
}

const TEXTS = ['I am absolutely furious with the landlord', "We won! Best day ever, I'm so happy"]

test('import, train with progress, classifyAs, candidates, deploy and rollback, cancel', async (t) => {
  const { mem, root } = await openStore(t)

  const imported = mem.importExamples('moods', FIXTURE)
  assert.equal(imported.added, 270)
  assert.equal(imported.created, true)
  assert.equal(imported.duplicates, 0)
  const info = mem.classifier('moods')
  assert.deepEqual(info.labels, ['anger', 'joy', 'sadness'])
  assert.equal(info.deployed, null)
  const before = mem.exampleStats('moods')
  assert.equal(Object.values(before.per_label).reduce((a, b) => a + b, 0), 270)

  // A bad import (an unknown label on line 2) throws, naming the line, and adds nothing.
  const bad = join(root, 'bad.jsonl')
  writeFileSync(
    bad,
    '{"text": "a brand new happy text", "labels": ["joy"]}\n{"text": "x", "labels": ["fear"]}\n',
  )
  assert.throws(
    () => mem.importExamples('moods', bad),
    (err) => err.code === 'INVALID_INPUT' && /line 2/.test(err.message),
  )
  assert.deepEqual(mem.exampleStats('moods'), before)

  // Train (quick preset) off the JS thread; progress reaches the callback; nothing was
  // deployed, so the new model is.
  const phases = []
  const job = await mem.trainAndWait('moods', { threads: 2 }, (p) => {
    assert.equal(typeof p.done, 'number')
    if (phases.at(-1) !== p.phase) phases.push(p.phase)
  })
  assert.equal(job.state, 'succeeded', JSON.stringify(job))
  assert.ok(phases.includes('train'), phases.join(','))
  assert.equal(job.result.deployed, true, JSON.stringify(job.result))
  const v1 = job.result.version
  assert.equal(mem.classifier('moods').deployed, v1)

  const got = await mem.classifyAs(TEXTS, 'moods')
  assert.equal(got[0].labels[0], 'anger', JSON.stringify(got))
  assert.equal(got[1].labels[0], 'joy', JSON.stringify(got))
  assert.deepEqual(Object.keys(got[0].scores).sort(), ['anger', 'joy', 'sadness'])
  assert.equal((await mem.classify(['so happy']))[0].labels.length > 0, true, 'classify stays goemotions')

  // Another model kept as a candidate, deployed by hand; rollback restores v1's scores.
  const job2 = await mem.trainAndWait('moods', { threads: 2, seed: 7, epochs: 3, deploy: 'never' })
  assert.equal(job2.state, 'succeeded')
  assert.equal(job2.result.deployed, false, JSON.stringify(job2.result))
  assert.equal(mem.classifier('moods').deployed, v1)
  const v2 = job2.result.version
  assert.equal(mem.deployClassifier('moods').version, v2)
  assert.notDeepEqual(await mem.classifyAs(TEXTS, 'moods'), got)
  assert.equal(mem.rollbackClassifier('moods').version, v1)
  assert.deepEqual(await mem.classifyAs(TEXTS, 'moods'), got)

  // Queued (no worker in this store), then cancelled.
  const queued = mem.train('moods', { threads: 2 })
  assert.equal(typeof queued, 'number')
  assert.equal(mem.job(queued).state, 'queued')
  assert.equal(mem.cancelJob(queued).state, 'cancelled')

  // Paused while queued, resumed, then run here; returning false from the callback cancels.
  const later = mem.train('moods', { threads: 2 })
  assert.equal(mem.pauseJob(later).state, 'paused')
  assert.equal(mem.resumeJob(later).state, 'queued')
  const stopped = await mem.runJob(later, (p) => p.phase !== 'train')
  assert.equal(stopped.state, 'cancelled', JSON.stringify(stopped))
  assert.equal(mem.classifier('moods').deployed, v1)

  // Bad options and unknown names.
  await assertCode(assert, () => mem.train('moods', { bogus: 1 }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.trainAndWait('moods', { eval_fraction: 0.9 }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.classifyAs(['x'], 'nope'), 'NOT_FOUND')
  await assertCode(assert, () => mem.classifier('nope'), 'NOT_FOUND')
  await assertCode(assert, () => mem.trainAndWait('nope', null), 'NOT_FOUND')
})

test('classifiers, examples, export, corrections and calibrate', async (t) => {
  const dir = tempDir(t)
  const mem = await Memorable.open(join(dir, 'store'), { ...HASHING, classifiers: { run_jobs: false } })
  t.after(() => mem.close())
  const labels = ['anger', 'fear', 'joy', 'meh']
  const created = mem.createClassifier('ekman', labels)
  assert.deepEqual(created.unmapped, ['meh'])
  assert.deepEqual(mem.createClassifier('ekman', labels, { meh: 'boredom' }).unmapped, [])
  await assertCode(assert, () => mem.createClassifier('ekman', ['anger']), 'INVALID_INPUT')
  await assertCode(assert, () => mem.createClassifier('Bad Name', labels), 'INVALID_INPUT')
  assert.deepEqual(mem.classifiers().map((c) => c.name), ['goemotions', 'ekman'])
  assert.equal(mem.classifier('goemotions').builtin, true)

  const one = mem.addExample('ekman', 'I am scared', ['fear'], { user: 'erin' })
  assert.deepEqual([one.added, one.created], [1, false])
  const many = mem.addExamples('ekman', [
    { text: 'so glad', labels: ['joy'] },
    { text: 'how dare you', labels: ['anger'] },
  ], { source: 'seed' })
  assert.equal(many.added, 2)
  await assertCode(assert, () => mem.addExample('ekman', 'hm', ['nope']), 'INVALID_INPUT')
  await assertCode(assert, () => mem.addExample('nope', 'x', ['a']), 'NOT_FOUND')
  const erins = mem.examples('ekman', { user: 'erin' })
  assert.equal(erins.length, 1)
  assert.equal(erins[0].source, 'api')
  assert.equal(mem.examples('ekman').length, 3)
  assert.equal(mem.exampleStats('ekman').per_label.joy, 1)

  const out = join(dir, 'out.jsonl')
  assert.equal(mem.exportExamples('ekman', out), 3)
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 3)
  await assertCode(assert, () => mem.exportExamples('ekman', out), 'DESTINATION_EXISTS')

  const id = await mem.remember('I feel so scared about tomorrow', { user: 'dana' })
  const corrected = mem.correct(id, ['fear'], 'ekman')
  assert.equal(corrected.user, 'dana')
  assert.equal(corrected.memory_id, id)
  assert.equal(corrected.source, 'correction')
  await assertCode(assert, () => mem.correct(-1, ['fear'], 'ekman'), 'INVALID_INPUT')
  assert.equal(mem.calibrate('ekman', 'dana'), null, 'fewer corrections than the minimum')
  await assertCode(assert, () => mem.classifyAs(['hello'], 'ekman', { user: 'dana' }), 'CLASSIFIER_UNAVAILABLE')
  await assertCode(assert, () => mem.classifyAs(['hello'], 'nope'), 'NOT_FOUND')
})
