// generate on the real SmolLM2 GGUF (scripts/fetch-model.sh smollm2, as CI does; without it
// these tests FAIL, they never skip) and consolidate / jobs without a generator.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'

import { Memorable } from '../index.js'
import { assertCode, tempDir } from './helpers.mjs'

const LLM = Object.freeze({ embedder: 'hashing', generator: 'smollm2' })
const NONE = Object.freeze({ embedder: 'hashing', generator: 'none' })

test('greedy raw completion, streamed, repeatable, the same as the CLI', async (t) => {
  const mem = Memorable.openInMemory(LLM)
  t.after(() => mem.close())
  const pieces = []
  const out = await mem.generate({ prompt: '1, 2, 3,', raw: true, maxTokens: 8 }, (p) => {
    pieces.push(p)
  })
  assert.ok(out.text.startsWith(' 4, 5, 6'), out.text)
  assert.equal(pieces.join(''), out.text, 'the stream is the answer')
  assert.equal(out.finishReason, 'length')
  assert.equal(out.completionTokens, 8)
  assert.equal(out.tokens.length, 8)
  assert.equal(out.model, 'smollm2')
  assert.deepEqual(await mem.generate({ prompt: '1, 2, 3,', raw: true, maxTokens: 8 }), out)

  const cli = process.env.MEMORABLE_BIN
  assert.ok(cli, 'MEMORABLE_BIN must name the CLI (scripts/test.sh sets it)')
  const prompt = 'The quick brown fox'
  const fromCli = JSON.parse(
    execFileSync(cli, ['--store', tempDir(t), '--embedder', 'hashing', 'generate', '--model', 'smollm2',
      '--raw', '--temperature', '0', '--max-tokens', '16', '--json', prompt], { encoding: 'utf8' }),
  )
  const fromNode = await mem.generate({ prompt, raw: true, maxTokens: 16 })
  assert.deepEqual(fromNode.tokens, fromCli.tokens)
  assert.equal(fromNode.text, fromCli.text)
})

test('chat, stops, seeds and a callback that stops', async (t) => {
  const mem = Memorable.openInMemory(LLM)
  t.after(() => mem.close())
  const chat = await mem.generate({
    messages: [{ role: 'user', content: 'What is the capital of France?' }],
    maxTokens: 12,
  })
  assert.equal(chat.text, "L'Étoile, la Marseillaise,", "llama.cpp's greedy answer for this GGUF")
  const stopped = await mem.generate({ prompt: 'One, two, three, four,', raw: true, maxTokens: 32, stop: [','] })
  assert.equal(stopped.finishReason, 'stop')
  assert.ok(!stopped.text.includes(','))
  const sampled = () =>
    mem.generate({ prompt: 'My favourite animal is', raw: true, temperature: 1, seed: 7, maxTokens: 12 })
  assert.deepEqual(await sampled(), await sampled())
  let n = 0
  const early = await mem.generate({ prompt: '1, 2, 3,', raw: true, maxTokens: 32 }, () => ++n < 2)
  assert.equal(n, 2)
  assert.ok(early.completionTokens < 32)
})

test('JSON mode with an answer prefix', async (t) => {
  const mem = Memorable.openInMemory(LLM)
  t.after(() => mem.close())
  const out = await mem.generate({ prompt: 'Describe Paris in JSON.', json: true, answerPrefix: '{"city": "', maxTokens: 60 })
  assert.equal(typeof JSON.parse(out.text).city, 'string', out.text)
})

test('bad requests and no generator are coded errors', async (t) => {
  const mem = Memorable.openInMemory(NONE)
  t.after(() => mem.close())
  await assertCode(assert, () => mem.generate({}), 'INVALID_INPUT')
  await assertCode(assert, () => mem.generate({ prompt: 'hi', temperature: -1 }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.generate({ messages: [{ role: 'wizard', content: 'hi' }] }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.generate({ prompt: 'hi', messages: [{ role: 'user', content: 'hi' }] }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.generate({ prompt: 'hi', raw: true, system: 'be brief' }), 'INVALID_INPUT')
  await assertCode(assert, () => mem.generate({ prompt: 'hi' }), 'NO_GENERATOR')
  assert.equal(mem.generatorReport().chosen, 'none')
})

async function seed(mem) {
  const turns = [
    ['Caroline', 'I adopted a beagle called Max last Saturday.'],
    ['Melanie', 'Lovely! I went hiking in Yosemite with my sister.'],
    ['Caroline', 'Max loves the park near my flat in Lisbon.'],
    ['Melanie', 'I start my new job as a nurse on Monday.'],
  ]
  const ids = []
  for (const [speaker, text] of turns) ids.push(await mem.remember(text, { user: 'u', session: 's1', speaker }))
  return ids
}

test('extractive consolidation links its memories and forget cascades', async (t) => {
  const mem = Memorable.openInMemory(NONE)
  t.after(() => mem.close())
  const sources = await seed(mem)
  const progress = []
  const report = await mem.consolidate('u', { session: 's1' }, (p) => {
    progress.push(p)
  })
  assert.equal(report.path, 'extractive')
  assert.equal(report.summaries.length, 1)
  assert.ok(report.facts.length > 0)
  assert.equal(progress.at(-1).sessions_done, 1)
  const summary = mem.get(report.summaries[0].id)
  assert.equal(summary.kind, 'summary')
  assert.ok(summary.derivedFrom.length > 0)
  assert.ok(summary.derivedFrom.every((id) => sources.includes(id)))
  const derived = await mem.recall('beagle', { user: 'u', kinds: ['summary', 'fact'], limit: 20 })
  assert.ok(derived.length > 0 && derived.every((r) => ['summary', 'fact'].includes(r.memory.kind)))
  for (const id of sources) mem.forget(id)
  assert.throws(() => mem.get(summary.id), (e) => e.code === 'NOT_FOUND')
})

test('a background consolidation is a job', async (t) => {
  const mem = Memorable.openInMemory(NONE)
  t.after(() => mem.close())
  await seed(mem)
  const id = mem.consolidateInBackground('u')
  const deadline = Date.now() + 30_000
  while (['queued', 'running'].includes(mem.job(id).state)) {
    assert.ok(Date.now() < deadline, JSON.stringify(mem.job(id)))
    await new Promise((r) => setTimeout(r, 20))
  }
  const job = mem.job(id)
  assert.equal(job.state, 'succeeded', JSON.stringify(job))
  assert.equal(job.kind, 'consolidate')
  assert.ok(job.result.summaries.length > 0)
  assert.ok(mem.jobs().some((j) => j.id === id))
  assert.throws(() => mem.job(10_000), (e) => e.code === 'NOT_FOUND')
})
