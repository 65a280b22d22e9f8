// The serverless handlers, called as the platform calls them (test/platform.mjs: Vercel's
// Node `req` / `res`), against a PostgreSQL database of their own on the test cluster
// (MEMORABLE_TEST_PG_URL, from scripts/pg-cluster.sh start). Without it these tests fail,
// unless MEMORABLE_SKIP_PG=1 asks to skip them (reported as skipped), as the Node binding's
// PostgreSQL tests do. The answers are checked against docs/server.md: the bodies of
// `memorable serve`, its error shape and its HTTP status per code.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { dirname, join } from 'node:path'
import { after, before, describe, it, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { errorCodes } from 'memorable'

import { invoke } from './platform.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const admin = process.env.MEMORABLE_TEST_PG_URL
const skip = !admin && process.env.MEMORABLE_SKIP_PG === '1' ? 'MEMORABLE_SKIP_PG=1' : false
const KEY = `test-${randomBytes(12).toString('hex')}`
const NUMBER = new Map(errorCodes().map((c) => [c.name, c.number]))

/** An error answer: the status, `{"error": {code, name, message}}` with the code's number. */
function assertError(r, status, name) {
  assert.equal(r.status, status, `expected ${status} ${name}, got ${r.status} ${JSON.stringify(r.json)}`)
  assert.deepEqual(Object.keys(r.json), ['error'])
  assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message', 'name'])
  assert.equal(r.json.error.name, name)
  assert.equal(r.json.error.code, NUMBER.get(name))
  assert.equal(typeof r.json.error.message, 'string')
  assert.ok(r.json.error.message.length > 0)
  assert.match(r.headers['content-type'], /^application\/json/)
}

// A database of the test's own on the cluster, dropped afterwards.
function createDatabase() {
  const name = `serverless_${randomBytes(6).toString('hex')}`
  execFileSync('psql', [admin, '-qc', `CREATE DATABASE ${name}`])
  return { name, url: `${admin.slice(0, admin.lastIndexOf('/'))}/${name}` }
}

describe('serverless handlers on PostgreSQL', { skip }, () => {
  let lib
  let api
  let db

  before(async () => {
    assert.ok(
      admin,
      'MEMORABLE_TEST_PG_URL is not set: start a cluster with `eval "$(scripts/pg-cluster.sh start)"` ' +
        '(or set MEMORABLE_SKIP_PG=1 to skip these tests)',
    )
    db = createDatabase()
    // Before the handlers are imported: they read their settings once, at start.
    process.env.MEMORABLE_STORE = db.url
    process.env.MEMORABLE_API_KEY = KEY
    process.env.MEMORABLE_EMBEDDER = 'hashing'
    lib = await import('../lib/memorable.js')
    api = {
      remember: (await import('../api/remember.js')).default,
      recall: (await import('../api/recall.js')).default,
      forget: (await import('../api/forget.js')).default,
      state: (await import('../api/emotional-state.js')).default,
    }
  })

  after(async () => {
    // Closed before the database is dropped (the drop ends every connection to it).
    await lib?.close()
    if (db) execFileSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`])
  })

  const remember = (body, extra = {}) => invoke(api.remember, { method: 'POST', body, key: KEY, ...extra })
  const recall = (body, extra = {}) => invoke(api.recall, { method: 'POST', body, key: KEY, ...extra })

  it('remember answers 201 {id}, recall 200 {hits} with it, in the server shape', async () => {
    // Two first requests at once share one open.
    const [a, b] = await Promise.all([
      remember({
        user: 'alice',
        text: 'I adopted a puppy named Biscuit',
        tags: ['pets'],
        metadata: { sourceApp: 'chat', n: 2 },
        occurred_at: '2024-05-01T10:00:00Z',
        session: 's1',
        speaker: 'alice',
        importance: 0.7,
      }),
      remember({ user: 'alice', text: 'The quarterly report is due on Friday', tags: ['work'] }),
    ])
    assert.equal(a.status, 201)
    assert.deepEqual(Object.keys(a.json), ['id'])
    assert.ok(Number.isSafeInteger(a.json.id))
    assert.equal(b.status, 201)
    assert.notEqual(a.json.id, b.json.id)
    assert.strictEqual(await lib.memorable(), await lib.memorable())

    const r = await recall({ user: 'alice', query: 'what is my puppy called?', limit: 5 })
    assert.equal(r.status, 200)
    assert.deepEqual(Object.keys(r.json), ['hits'])
    const hit = r.json.hits[0]
    assert.equal(hit.id, a.json.id)
    assert.equal(hit.user, 'alice')
    assert.equal(hit.text, 'I adopted a puppy named Biscuit')
    assert.deepEqual(hit.tags, ['pets'])
    assert.deepEqual(hit.metadata, { sourceApp: 'chat', n: 2 }, 'metadata keys are data: not renamed')
    assert.equal(hit.session, 's1')
    assert.equal(hit.speaker, 'alice')
    assert.equal(hit.importance, 0.7)
    assert.equal(new Date(hit.occurred_at).toISOString(), '2024-05-01T10:00:00.000Z')
    for (const field of ['kind', 'topics', 'place', 'lat', 'lon', 'created_at', 'updated_at', 'version', 'emotion', 'derived_from']) {
      assert.ok(field in hit, `hit has ${field}`)
    }
    assert.equal(typeof hit.score, 'number')
    assert.ok('semantic_rank' in hit.breakdown && 'keyword_rank' in hit.breakdown && 'fused' in hit.breakdown)

    // Filters of the server's body, and another user sees nothing of alice's.
    const work = await recall({ user: 'alice', query: 'report', tags: ['work'], mode: 'keyword' })
    assert.deepEqual(
      work.json.hits.map((h) => h.id),
      [b.json.id],
    )
    const bob = await recall({ user: 'bob', query: 'what is my puppy called?' })
    assert.equal(bob.status, 200)
    assert.deepEqual(bob.json.hits, [])
  })

  it('remember with the same client_key answers the first id', async () => {
    const first = await remember({ user: 'alice', text: 'Lunch with Sam on Tuesday', client_key: 'k-1' })
    const again = await remember({ user: 'alice', text: 'Lunch with Sam on Tuesday', client_key: 'k-1' })
    assert.equal(first.status, 201)
    assert.equal(again.json.id, first.json.id)
  })

  it('emotional state: 404 before any reading, then the fused state of the user’s own context', async () => {
    const query = { user: 'alice', context: 'call-7' }
    const none = await invoke(api.state, { method: 'GET', query, key: KEY })
    assertError(none, 404, 'NOT_FOUND')

    const reading = { source: 'voice', scores: { Joy: 0.8, Calmness: 0.3 }, confidence: 0.9 }
    const posted = await invoke(api.state, { method: 'POST', query, body: reading, key: KEY })
    assert.equal(posted.status, 200, JSON.stringify(posted.json))
    assert.equal(posted.json.context, 'call-7')
    assert.equal(posted.json.readings, 1)
    assert.equal(posted.json.dominant, 'joy')
    assert.equal(typeof posted.json.updated_at, 'string')
    assert.ok(Array.isArray(posted.json.top) && posted.json.top[0].id === 'joy')
    assert.equal(posted.json.sources[0].source, 'voice')
    assert.ok('updated_at' in posted.json.sources[0])
    assert.ok(!('source' in posted.json), 'no `source` outside a history, as the server')

    const now = await invoke(api.state, { method: 'GET', query, key: KEY })
    assert.equal(now.status, 200)
    assert.equal(now.json.context, 'call-7')
    assert.equal(now.json.readings, 1)
    assert.equal(now.json.dominant, 'joy')

    // bob's `call-7` is another context.
    const bob = await invoke(api.state, { method: 'GET', query: { user: 'bob', context: 'call-7' }, key: KEY })
    assertError(bob, 404, 'NOT_FOUND')

    // A reading the engine refuses: a score outside [0, 1].
    const bad = await invoke(api.state, { method: 'POST', query, body: { source: 'voice', scores: { Joy: 2 } }, key: KEY })
    assertError(bad, 400, 'INVALID_INPUT')
    const other = await invoke(api.state, { method: 'POST', query, body: { ...reading, context: 'call-8' }, key: KEY })
    assertError(other, 400, 'INVALID_INPUT')
    const missing = await invoke(api.state, { method: 'GET', query: { user: 'alice' }, key: KEY })
    assertError(missing, 400, 'INVALID_INPUT')
  })

  it('forget answers {"forgotten": 1}; then recall no longer returns it', async () => {
    const { json } = await remember({ user: 'alice', text: 'My locker code is 4512' })
    const id = String(json.id)
    const found = await recall({ user: 'alice', query: 'locker code' })
    assert.ok(found.json.hits.some((h) => h.id === json.id))

    // Another user's memory answers exactly like a missing one.
    const asBob = await invoke(api.forget, { method: 'DELETE', query: { id, user: 'bob' }, key: KEY })
    assertError(asBob, 404, 'NOT_FOUND')
    const gone = await invoke(api.forget, { method: 'DELETE', query: { id: '999999999', user: 'bob' }, key: KEY })
    assert.deepEqual(gone.json, asBob.json)

    const r = await invoke(api.forget, { method: 'DELETE', query: { id, user: 'alice' }, key: KEY })
    assert.equal(r.status, 200)
    assert.deepEqual(r.json, { forgotten: 1 })
    const after = await recall({ user: 'alice', query: 'locker code' })
    assert.equal(after.status, 200)
    assert.ok(!after.json.hits.some((h) => h.id === json.id))
    const twice = await invoke(api.forget, { method: 'DELETE', query: { id, user: 'alice' }, key: KEY })
    assertError(twice, 404, 'NOT_FOUND')

    assertError(await invoke(api.forget, { method: 'DELETE', query: { id: 'abc', user: 'alice' }, key: KEY }), 400, 'INVALID_INPUT')
    assertError(await invoke(api.forget, { method: 'DELETE', query: { user: 'alice' }, key: KEY }), 400, 'INVALID_INPUT')
    assertError(await invoke(api.forget, { method: 'DELETE', query: { id }, key: KEY }), 400, 'MISSING_USER')
    assertError(
      await invoke(api.forget, { method: 'DELETE', query: { id, user: 'alice', extra: '1' }, key: KEY }),
      400,
      'INVALID_INPUT',
    )
  })

  it('a missing or wrong key answers 401 UNAUTHORIZED with WWW-Authenticate', async () => {
    const body = { user: 'alice', text: 'should not be stored' }
    for (const r of [
      await invoke(api.remember, { method: 'POST', body }),
      await invoke(api.remember, { method: 'POST', body, key: `${KEY}x` }),
      await invoke(api.remember, { method: 'POST', body, key: '' }),
      await invoke(api.remember, { method: 'POST', body, headers: { authorization: `Basic ${KEY}` } }),
      await invoke(api.recall, { method: 'POST', body: { user: 'alice', query: 'x' } }),
      await invoke(api.forget, { method: 'DELETE', query: { id: '1', user: 'alice' }, key: 'nope' }),
      await invoke(api.state, { method: 'GET', query: { user: 'alice', context: 'call-7' } }),
    ]) {
      assertError(r, 401, 'UNAUTHORIZED')
      assert.equal(r.headers['www-authenticate'], 'Bearer')
    }
    // The scheme is case-insensitive; the key is not.
    const lower = await invoke(api.recall, {
      method: 'POST',
      body: { user: 'alice', query: 'puppy' },
      headers: { authorization: `bearer ${KEY}` },
    })
    assert.equal(lower.status, 200)
    const upper = await invoke(api.recall, { method: 'POST', body: { user: 'alice', query: 'puppy' }, key: KEY.toUpperCase() })
    assertError(upper, 401, 'UNAUTHORIZED')
    const stored = await recall({ user: 'alice', query: 'should not be stored', mode: 'keyword' })
    assert.deepEqual(stored.json.hits, [])
  })

  it('bad bodies answer 400 with the server’s codes and change nothing', async () => {
    const cases = [
      [{ user: 'alice' }, 'INVALID_INPUT'], // missing text
      [{ user: 'alice', text: '   ' }, 'EMPTY_TEXT'],
      [{ user: 'alice', text: 'x'.repeat(10_001) }, 'TEXT_TOO_LONG'],
      [{ text: 'whose?' }, 'MISSING_USER'],
      [{ user: ' ', text: 'whose?' }, 'MISSING_USER'],
      [{ user: 'alice', text: 'x', colour: 'red' }, 'INVALID_INPUT'], // unknown field
      [{ user: 'alice', text: 'x', tags: 'pets' }, 'INVALID_INPUT'], // wrong type
      [{ user: 'alice', text: 42 }, 'INVALID_INPUT'],
      [{ user: 'alice', text: 'x', importance: 2 }, 'INVALID_INPUT'], // the engine's check
      [{ user: 'alice', text: 'x', occurred_at: 'yesterday' }, 'INVALID_INPUT'],
      [{ user: 'alice', text: 'x', metadata: [1, 2] }, 'INVALID_METADATA'],
      [['alice', 'x'], 'INVALID_INPUT'], // not an object
      ['{"user": "alice", "text": ', 'INVALID_INPUT'], // malformed JSON, as a string body
      ['', 'INVALID_INPUT'],
    ]
    for (const [body, name] of cases) {
      assertError(await remember(body), 400, name)
    }
    // Malformed JSON the platform failed to parse (its getter throws).
    assertError(await remember(undefined, { malformed: true, headers: { 'content-type': 'application/json' } }), 400, 'INVALID_INPUT')
    // No body at all.
    assertError(await remember(undefined), 400, 'INVALID_INPUT')
    // A form, which the platform parses into an object: not JSON.
    assertError(
      await remember({ user: 'alice', text: 'x' }, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      400,
      'INVALID_INPUT',
    )
    // Bytes that are not UTF-8.
    assertError(
      await remember(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), { headers: { 'content-type': 'application/octet-stream' } }),
      400,
      'INVALID_UTF8',
    )
    // Over the body limit (1 MiB by default): 413.
    assertError(await remember({ user: 'alice', text: 'x' }, { headers: { 'content-length': String(2 << 20) } }), 413, 'PAYLOAD_TOO_LARGE')

    for (const [body, name] of [
      [{ user: 'alice' }, 'INVALID_INPUT'], // missing query
      [{ user: 'alice', query: ' ' }, 'EMPTY_TEXT'],
      [{ user: 'alice', query: 'x', limit: 0 }, 'INVALID_INPUT'],
      [{ user: 'alice', query: 'x', limit: 5_000_000_000 }, 'INVALID_INPUT'],
      [{ user: 'alice', query: 'x', limit: -1 }, 'INVALID_INPUT'],
      [{ user: 'alice', query: 'x', mode: 'psychic' }, 'INVALID_INPUT'],
      [{ user: 'alice', query: 'x', offset: 3 }, 'INVALID_INPUT'], // not a field of the server's recall
      [{ query: 'x' }, 'MISSING_USER'],
    ]) {
      assertError(await recall(body), 400, name)
    }

    // Nothing was stored by any of them.
    const r = await recall({ user: 'alice', query: 'x whose', mode: 'keyword', limit: 100 })
    assert.deepEqual(r.json.hits, [])
  })

  it('a route called with another method answers 405 INVALID_INPUT', async () => {
    for (const [handler, method, allow] of [
      [api.remember, 'GET', 'POST'],
      [api.recall, 'DELETE', 'POST'],
      [api.forget, 'POST', 'DELETE'],
      [api.state, 'PUT', 'GET, HEAD, POST'],
    ]) {
      const r = await invoke(handler, { method, key: KEY, body: { user: 'alice', text: 'x' } })
      assertError(r, 405, 'INVALID_INPUT')
      assert.equal(r.headers.allow, allow)
    }
  })

  it('the handlers also serve plain node:http requests (body in the stream, query in the URL)', async (t) => {
    const routes = { '/api/remember': api.remember, '/api/recall': api.recall, '/api/forget': api.forget }
    const server = createServer((req, res) => routes[new URL(req.url, 'http://x').pathname](req, res))
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.after(() => server.close())
    const base = `http://127.0.0.1:${server.address().port}`
    const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }

    const made = await fetch(`${base}/api/remember`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ user: 'carol', text: 'Carol paints lighthouses' }),
    })
    assert.equal(made.status, 201)
    const { id } = await made.json()
    const found = await fetch(`${base}/api/recall`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ user: 'carol', query: 'what does Carol paint?' }),
    })
    assert.equal(found.status, 200)
    assert.equal((await found.json()).hits[0].id, id)
    const bad = await fetch(`${base}/api/recall`, { method: 'POST', headers, body: '{"user": "carol", "query": ' })
    assert.equal(bad.status, 400)
    assert.equal((await bad.json()).error.name, 'INVALID_INPUT')
    const forgotten = await fetch(`${base}/api/forget?id=${id}&user=carol`, { method: 'DELETE', headers })
    assert.deepEqual(await forgotten.json(), { forgotten: 1 })
    const dup = await fetch(`${base}/api/forget?id=${id}&user=carol&user=dave`, { method: 'DELETE', headers })
    assert.equal(dup.status, 400)
  })

  it('a request that outlasts MEMORABLE_REQUEST_TIMEOUT_MS answers 503 TIMEOUT', () => {
    // A fresh instance (a child process), whose cold open takes longer than 1 ms.
    const r = child({ MEMORABLE_STORE: db.url, MEMORABLE_REQUEST_TIMEOUT_MS: '1' }, 'recall', {
      method: 'POST',
      body: { user: 'alice', query: 'puppy' },
    })
    assertError(r, 503, 'TIMEOUT')
  })
})

// One request in a fresh process (a cold instance): `{ status, headers, json }`, or the
// process's failure when the handler refused to start.
function child(env, route, options) {
  const code = `
    const { invoke } = await import('./test/platform.mjs')
    const handler = (await import('./api/${route}.js')).default
    const r = await invoke(handler, ${JSON.stringify({ key: KEY, ...options })})
    process.stdout.write(JSON.stringify(r))
    process.exit(0)
  `
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, MEMORABLE_API_KEY: KEY, MEMORABLE_EMBEDDER: 'hashing', ...env },
    timeout: 60_000,
  })
  if (out.status !== 0) return { failed: true, status: out.status, stderr: out.stderr, stdout: out.stdout }
  return JSON.parse(out.stdout)
}

test('an instance refuses to start without a postgres:// store or an API key, naming no secret', () => {
  const request = { method: 'POST', body: { user: 'alice', text: 'x' } }
  const cases = [
    [{ MEMORABLE_STORE: '' }, /MEMORABLE_STORE is not set/],
    [{ MEMORABLE_STORE: '/tmp/memorable-data' }, /MEMORABLE_STORE must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [{ MEMORABLE_STORE: 'mysql://app:hunter2@db/x' }, /MEMORABLE_STORE must be a postgres:\/\//],
    [{ MEMORABLE_STORE: 'postgres://app:hunter2@127.0.0.1:1/x', MEMORABLE_API_KEY: '' }, /MEMORABLE_API_KEY is not set/],
  ]
  for (const [env, message] of cases) {
    const r = child(env, 'remember', request)
    assert.ok(r.failed, `started with ${JSON.stringify(Object.keys(env))}`)
    assert.match(r.stderr, message)
    assert.ok(!r.stderr.includes('hunter2'))
  }
})

test('an unreachable database answers 503 STORE_UNAVAILABLE without the password', () => {
  const r = child({ MEMORABLE_STORE: 'postgres://app:hunter2@127.0.0.1:1/none' }, 'recall', {
    method: 'POST',
    body: { user: 'alice', query: 'puppy' },
  })
  assertError(r, 503, 'STORE_UNAVAILABLE')
  assert.ok(!JSON.stringify(r).includes('hunter2'))
})
