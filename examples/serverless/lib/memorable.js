// What the routes under api/ share: the store handle (opened once per warm instance), the
// bearer key check, reading and checking a request, and answering the way `memorable serve`
// answers (docs/server.md): the same bodies, the same `{"error": {code, name, message}}`
// shape, the same HTTP status per error code. Request and answer mapping only; every
// decision about memories is the engine's (the `memorable` package).
//
// The handlers use `res.statusCode`, `res.setHeader` and `res.end` only, so they run on a
// serverless platform's Node runtime (Vercel's `req` / `res`) and on plain `node:http` alike.

import { createHash, timingSafeEqual } from 'node:crypto'
import { dirname, isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { errorCodes, Memorable, userContext } from 'memorable'

// ---------------------------------------------------------------------------------------
// Settings, read once when an instance starts. A bad or missing setting stops the start
// (the import throws): a function that cannot authenticate or cannot share its store must
// not serve at all. Messages name the variable, never its value.

class ConfigError extends Error {}

function settings(env) {
  const store = env.MEMORABLE_STORE
  if (!store) {
    throw new ConfigError(
      'MEMORABLE_STORE is not set: it must be the postgres:// URL of the PostgreSQL database the functions share',
    )
  }
  if (!/^postgres(ql)?:\/\//i.test(store)) {
    throw new ConfigError(
      'MEMORABLE_STORE must be a postgres:// or postgresql:// URL: a serverless function has no lasting disk, ' +
        'and its instances must share one store (a directory store is opened by one process at a time)',
    )
  }
  const keys = (env.MEMORABLE_API_KEY ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0)
  if (keys.length === 0) {
    throw new ConfigError(
      'MEMORABLE_API_KEY is not set: every request must carry `Authorization: Bearer <key>` ' +
        '(several keys, comma-separated, while rotating)',
    )
  }
  const options = {
    // As `memorable serve` opens its store: emotion contexts per user (alice's `s1` is not
    // bob's), and no background training worker (an instance may be frozen at any time).
    emotion: { per_user_sessions: true },
    classifiers: { run_jobs: false },
    // Every instance holds 1 writer + this many reader connections to the database.
    read_connections: integer(env, 'MEMORABLE_READ_CONNECTIONS', 1),
  }
  if (env.MEMORABLE_EMBEDDER) options.embedder = env.MEMORABLE_EMBEDDER
  if (env.MEMORABLE_MODEL_DIR) {
    // Relative to this example's folder (where the deployment bundles the model files).
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
    const dir = env.MEMORABLE_MODEL_DIR
    options.model_dir = isAbsolute(dir) ? dir : resolve(root, dir)
  }
  if (env.MEMORABLE_SYNC_INTERVAL_MS) options.sync_interval_ms = integer(env, 'MEMORABLE_SYNC_INTERVAL_MS')
  if (env.MEMORABLE_MAX_INDEX_MEMORY_MB) {
    options.max_index_memory_mb = integer(env, 'MEMORABLE_MAX_INDEX_MEMORY_MB')
  }
  return {
    store,
    keyDigests: keys.map(digest),
    options,
    maxBodyBytes: integer(env, 'MEMORABLE_MAX_BODY_BYTES', 1 << 20),
    timeoutMs: integer(env, 'MEMORABLE_REQUEST_TIMEOUT_MS', 25_000),
  }
}

function integer(env, name, fallback) {
  const text = env[name]
  if (text === undefined || text === '') return fallback
  if (!/^\d+$/.test(text.trim())) throw new ConfigError(`${name} must be a whole number`)
  return Number(text.trim())
}

const config = settings(process.env)

// ---------------------------------------------------------------------------------------
// The handle: opened on the first request of an instance, kept at module scope for every
// later (warm) invocation. Concurrent first requests share the one open; a failed open is
// forgotten, so the next request tries again (the database may have been down).

let opening = null

/** The instance's store handle (a Promise: the first call opens it). */
export function memorable() {
  if (!opening) {
    opening = Memorable.open(config.store, config.options)
    opening.catch(() => {
      opening = null
    })
  }
  return opening
}

/** Close the handle (tests, or a host that shuts down cleanly); the next request reopens. */
export async function close() {
  const pending = opening
  opening = null
  if (!pending) return
  const mem = await pending.catch(() => null)
  mem?.close()
}

// ---------------------------------------------------------------------------------------
// Errors: the codes of docs/errors.md, each with the HTTP status `memorable serve` gives it
// (src/bin/memorable/server/error.rs).

const CODES = new Map(errorCodes().map((c) => [c.name, c]))

const STATUS_BY_NAME = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 413,
  OVERLOADED: 503,
  TIMEOUT: 503,
  CLOSED: 503,
  STORAGE: 503,
  LOCKED: 503,
  NOT_WRITABLE: 503,
  STORE_UNAVAILABLE: 503,
  USER_QUOTA_EXCEEDED: 409,
  STORE_FULL: 409,
  DESTINATION_EXISTS: 409,
  NO_PREVIOUS_VERSION: 409,
  CLASSIFIER_UNAVAILABLE: 503,
  NO_GENERATOR: 503,
  MODEL: 503,
}

const STATUS_BY_FAMILY = { 'invalid input': 400, 'not found': 404, remote: 502 }

/** An error answer: `name` is a stable code name (`EMPTY_TEXT`), `status` its HTTP status. */
export class HttpError extends Error {
  constructor(name, message, status) {
    super(message)
    const info = CODES.get(name)
    this.code = name
    this.number = info?.number ?? CODES.get('INTERNAL').number
    this.status = status ?? STATUS_BY_NAME[name] ?? STATUS_BY_FAMILY[info?.family] ?? 500
    this.headers = {}
  }
}

/** `INVALID_INPUT` (400), the code of malformed JSON, wrong types and unknown fields. */
export function invalid(message) {
  return new HttpError('INVALID_INPUT', message)
}

/** A thrown error as an answer: the engine's errors by their code, anything else 500. */
function asHttpError(err) {
  if (err instanceof HttpError) return err
  if (err && typeof err.code === 'string' && CODES.has(err.code)) {
    return new HttpError(err.code, err.message)
  }
  // Not the engine's (a bug here or in the binding): logged, not shown to the caller.
  console.error('memorable: unexpected error', err)
  return new HttpError('INTERNAL', 'internal error')
}

// ---------------------------------------------------------------------------------------
// The bearer key: compared as SHA-256 digests (equal lengths) with timingSafeEqual, against
// every configured key without stopping at a match, so timing says nothing about near misses.

function digest(key) {
  return createHash('sha256').update(key, 'utf8').digest()
}

function authenticate(req) {
  const header = headerValue(req, 'authorization')
  // The scheme is case-insensitive (RFC 9110); the key is not.
  const token = typeof header === 'string' && /^bearer /i.test(header) ? header.slice(7).trim() : ''
  if (!token) throw unauthorized('missing `Authorization: Bearer <key>`')
  const presented = digest(token)
  let known = false
  for (const d of config.keyDigests) known = timingSafeEqual(presented, d) || known
  if (!known) throw unauthorized('unknown API key')
}

function unauthorized(message) {
  const err = new HttpError('UNAUTHORIZED', message)
  err.headers['WWW-Authenticate'] = 'Bearer'
  return err
}

function headerValue(req, name) {
  const v = req.headers?.[name]
  return Array.isArray(v) ? v[0] : v
}

// ---------------------------------------------------------------------------------------
// Reading a request. The platform may have parsed the body already (`req.body`: an object
// for application/json, a string for text/plain, a Buffer, or undefined); plain node:http
// leaves it in the stream. Either way the body must be one JSON object, as the server's.

/** The request's JSON body, checked against `fields` (name → checker; unknown names refused). */
export async function body(req, fields, required = []) {
  const value = await jsonBody(req)
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('request body: expected a JSON object')
  }
  for (const name of Object.keys(value)) {
    if (!Object.hasOwn(fields, name)) {
      throw invalid(`request body: unknown field \`${name}\`, expected one of ${names(fields)}`)
    }
  }
  for (const name of required) {
    if (value[name] === undefined) throw invalid(`request body: missing field \`${name}\``)
  }
  const out = {}
  for (const [name, check] of Object.entries(fields)) {
    if (value[name] !== undefined) out[name] = check(value[name], name)
  }
  return out
}

async function jsonBody(req) {
  const declared = Number(headerValue(req, 'content-length'))
  if (declared > config.maxBodyBytes) throw tooLarge()
  let parsed
  try {
    // Vercel's `req.body` is a getter that throws on malformed JSON.
    parsed = 'body' in req ? req.body : await readStream(req)
  } catch (err) {
    if (err instanceof HttpError) throw err
    throw invalid('request body: malformed JSON')
  }
  if (parsed === undefined || parsed === null) parsed = await readStream(req)
  if (Buffer.isBuffer(parsed) || parsed instanceof Uint8Array) parsed = utf8(parsed)
  if (typeof parsed !== 'string') {
    // Already parsed by the platform: JSON, unless it was a form (the server reads only JSON).
    if (/^application\/x-www-form-urlencoded/i.test(headerValue(req, 'content-type') ?? '')) {
      throw invalid('request body: expected JSON, got a form')
    }
    return parsed
  }
  if (Buffer.byteLength(parsed, 'utf8') > config.maxBodyBytes) throw tooLarge()
  try {
    return JSON.parse(parsed)
  } catch (err) {
    throw invalid(`request body: ${parsed.trim() === '' ? 'empty' : err.message}`)
  }
}

/** The unread rest of the request stream ('' when it was read already). */
async function readStream(req) {
  if (typeof req.on !== 'function' || req.readableEnded) return ''
  const chunks = []
  let size = 0
  for await (const chunk of req) {
    size += chunk.length
    if (size > config.maxBodyBytes) throw tooLarge()
    chunks.push(chunk)
  }
  return utf8(Buffer.concat(chunks))
}

const decoder = new TextDecoder('utf-8', { fatal: true })

function utf8(bytes) {
  try {
    return decoder.decode(bytes)
  } catch {
    throw new HttpError('INVALID_UTF8', 'the request body is not UTF-8')
  }
}

function tooLarge() {
  return new HttpError('PAYLOAD_TOO_LARGE', `the request body is over ${config.maxBodyBytes} bytes`)
}

/** The query string's parameters, checked against `fields` (unknown and repeated refused). */
export function query(req, fields) {
  const raw = req.query ?? Object.fromEntries(groups(new URL(req.url ?? '/', 'http://localhost').searchParams))
  const out = {}
  for (const [name, value] of Object.entries(raw)) {
    if (!fields.includes(name)) {
      throw invalid(`query: unknown parameter \`${name}\`, expected one of ${fields.map((f) => `\`${f}\``).join(', ')}`)
    }
    if (Array.isArray(value)) {
      if (value.length !== 1) throw invalid(`query: duplicate parameter \`${name}\``)
      out[name] = String(value[0])
    } else {
      out[name] = String(value)
    }
  }
  return out
}

function groups(params) {
  const map = new Map()
  for (const [k, v] of params) map.set(k, [...(map.get(k) ?? []), v])
  return map
}

function names(fields) {
  return Object.keys(fields)
    .map((f) => `\`${f}\``)
    .join(', ')
}

// Field checkers: each returns the value as the engine takes it, or throws INVALID_INPUT
// (the server's serde types: `Option<String>`, `Vec<String>`, `f32`, `u64`, RFC 3339 times).

const typeError = (name, what) => invalid(`request body: \`${name}\` must be ${what}`)

export const check = {
  string(v, name) {
    if (typeof v !== 'string') throw typeError(name, 'a string')
    return v
  },
  optionalString(v, name) {
    return v === null ? undefined : check.string(v, name)
  },
  strings(v, name) {
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw typeError(name, 'an array of strings')
    return v
  },
  optionalNumber(v, name) {
    if (v === null) return undefined
    if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(name, 'a number')
    return v
  },
  optionalCount(v, name) {
    if (v === null) return undefined
    if (!Number.isSafeInteger(v) || v < 0) throw typeError(name, 'a non-negative integer')
    return v
  },
  ids(v, name) {
    if (!Array.isArray(v) || !v.every((i) => Number.isSafeInteger(i) && i >= 0)) {
      throw typeError(name, 'an array of memory ids')
    }
    return v
  },
  optionalTime(v, name) {
    return v === null ? undefined : time(check.string(v, name), name)
  },
  optionalObject(v, name) {
    if (v === null) return undefined
    if (typeof v !== 'object' || Array.isArray(v)) throw typeError(name, 'an object')
    return v
  },
  any(v) {
    return v === null ? undefined : v
  },
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** An RFC 3339 time as a Date (milliseconds: what the binding's Dates carry). */
export function time(text, name) {
  const at = RFC3339.test(text) ? new Date(text) : null
  if (!at || Number.isNaN(at.getTime())) throw typeError(name, `an RFC 3339 time, got ${JSON.stringify(text)}`)
  return at
}

/**
 * The user a call acts for. One key acts for every user here, so a call must name one
 * (the server's answer to a key of several users: 400 MISSING_USER).
 */
export function user(named) {
  if (named === undefined) throw new HttpError('MISSING_USER', 'name the user (`user`): this key acts for several')
  if (named.trim() === '') throw new HttpError('MISSING_USER', 'the user id is blank')
  return named
}

// The id of a user's own emotion context ("@5:alice/s1"), named by the engine as
// `memorable serve` names it, so a context written here and one written there are the same.
export { userContext }

// ---------------------------------------------------------------------------------------
// Answers in the server's JSON form: the binding's camelCase keys in snake_case, Dates as
// RFC 3339 text. Maps whose keys are data (metadata, expression scores) are left as they are.

const OPAQUE = new Set(['metadata', 'scores', 'extras'])

export function wire(v) {
  if (v instanceof Date) return v.toISOString()
  if (Array.isArray(v)) return v.map(wire)
  if (v !== null && typeof v === 'object') {
    const out = {}
    for (const [k, x] of Object.entries(v)) {
      out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = OPAQUE.has(k) ? x : wire(x)
    }
    return out
  }
  return v
}

/** A recall hit as the server answers it: the memory's fields plus `score` and `breakdown`. */
export function hitJson(hit) {
  return { ...wire(hit.memory), score: hit.score, breakdown: wire(hit.breakdown) }
}

/** A fused state as the server answers it: the context as the caller named it. */
export function stateJson(state, context) {
  const out = wire({ ...state, context })
  if (out.source === null || out.source === undefined) delete out.source
  return out
}

// ---------------------------------------------------------------------------------------
// One request, start to end.

/**
 * Serve one request: the method (405 otherwise), the key (401), then
 * `handle({ req, method, engine })`, which reads and checks its input and returns
 * `[status, json]`. `engine(fn)` runs `fn(mem)` on the instance's handle, within the
 * request timeout; a call that found the database unreachable (STORE_UNAVAILABLE: nothing
 * was written, the next call reconnects) is made once more.
 */
export async function serve(req, res, methods, handle) {
  try {
    const method = (req.method ?? 'GET').toUpperCase()
    if (!methods.includes(method)) {
      const err = invalid('method not allowed on this route')
      err.status = 405
      err.headers.Allow = methods.join(', ')
      throw err
    }
    authenticate(req)
    const [status, json] = await handle({ req, method, engine })
    send(res, status, json)
  } catch (thrown) {
    const err = asHttpError(thrown)
    if (err.status >= 500) console.error(`memorable: ${err.status} ${err.code}: ${err.message}`)
    send(res, err.status, { error: { code: err.number, name: err.code, message: err.message } }, err.headers)
  }
}

function engine(fn) {
  return withTimeout(async () => {
    try {
      return await fn(await memorable())
    } catch (err) {
      if (err?.code !== 'STORE_UNAVAILABLE') throw err
      return await fn(await memorable())
    }
  })
}

/**
 * Like the server's `request_timeout_ms`: 503 TIMEOUT, before the platform cuts the
 * function off. As there, a write that timed out may still commit.
 */
async function withTimeout(fn) {
  let timer
  const work = fn()
  work.catch(() => {})
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new HttpError('TIMEOUT', `the request did not finish within ${config.timeoutMs} ms`)),
      config.timeoutMs,
    )
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function send(res, status, json, headers = {}) {
  const text = JSON.stringify(json)
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json')
  res.setHeader('Content-Length', Buffer.byteLength(text))
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  res.end(text)
}
