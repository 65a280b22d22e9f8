// Request and response objects in the shape of Vercel's Node runtime: `req` is an
// IncomingMessage whose body was read by the platform (`req.body`: parsed JSON for
// application/json, a string for text/plain, a Buffer for application/octet-stream,
// undefined without a content type; a getter that throws on malformed JSON) and whose query
// string is parsed (`req.query`); `res` is a ServerResponse with the platform's
// `status()` / `json()` / `send()` helpers besides `statusCode`, `setHeader` and `end`.
import { Readable } from 'node:stream'

/**
 * A request. `body` is what `req.body` holds; `malformed: true` makes `req.body` throw as
 * the platform's getter does on JSON that does not parse.
 */
export function request({ method = 'POST', path = '/', query = {}, headers = {}, body, key, malformed = false }) {
  // The platform read the stream already: an ended stream.
  const req = Readable.from([])
  req.resume()
  req.method = method
  const qs = new URLSearchParams(query).toString()
  req.url = qs ? `${path}?${qs}` : path
  req.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
  if (key !== undefined) req.headers.authorization = `Bearer ${key}`
  if (body !== undefined && !req.headers['content-type']) {
    req.headers['content-type'] = typeof body === 'string' ? 'text/plain' : 'application/json'
  }
  req.query = query
  Object.defineProperty(req, 'body', {
    enumerable: true,
    get() {
      if (malformed) {
        const err = new Error('Invalid JSON')
        err.statusCode = 400
        throw err
      }
      return body
    },
  })
  return req
}

/** A response that records what the handler set and sent; `done` resolves on `end()`. */
export function response() {
  let finish
  const res = {
    statusCode: 200,
    headers: {},
    body: undefined,
    done: new Promise((resolve) => {
      finish = resolve
    }),
    setHeader(name, value) {
      res.headers[name.toLowerCase()] = value
      return res
    },
    getHeader(name) {
      return res.headers[name.toLowerCase()]
    },
    end(chunk) {
      res.body = chunk === undefined ? '' : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk)
      finish()
      return res
    },
    status(code) {
      res.statusCode = code
      return res
    },
    json(value) {
      res.setHeader('Content-Type', 'application/json; charset=utf-8')
      return res.end(JSON.stringify(value))
    },
    send(value) {
      return typeof value === 'object' && !Buffer.isBuffer(value) ? res.json(value) : res.end(value)
    },
  }
  return res
}

/** Call `handler` as the platform does; resolves to `{ status, headers, json }`. */
export async function invoke(handler, options) {
  const res = response()
  await handler(request(options), res)
  await res.done
  return { status: res.statusCode, headers: res.headers, json: res.body ? JSON.parse(res.body) : undefined }
}
