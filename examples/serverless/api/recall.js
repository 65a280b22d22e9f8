// POST /api/recall — `POST /v1/recall` of `memorable serve`:
// {user, query, limit?, session?, speaker?, tags?, kinds?, since?, until?, mode?, weights?}
// → 200 {"hits": [...]}, each hit the memory's fields plus `score` and `breakdown`.
import { body, check, hitJson, serve, user } from '../lib/memorable.js'

const FIELDS = {
  user: check.optionalString,
  query: check.string,
  limit: check.optionalCount,
  session: check.optionalString,
  speaker: check.optionalString,
  tags: check.strings,
  kinds: check.strings,
  since: check.optionalTime,
  until: check.optionalTime,
  mode: check.optionalString,
  weights: check.optionalObject,
}

export default async function handler(req, res) {
  await serve(req, res, ['POST'], async ({ req, engine }) => {
    const b = await body(req, FIELDS, ['query'])
    const options = {
      user: user(b.user),
      // Past the binding's u32: still out of 1..=1000, which the engine refuses (400).
      limit: b.limit === undefined ? undefined : Math.min(b.limit, 0xffffffff),
      session: b.session,
      speaker: b.speaker,
      tags: b.tags,
      kinds: b.kinds,
      since: b.since,
      until: b.until,
      mode: b.mode,
      weights: b.weights,
    }
    const hits = await engine((mem) => mem.recall(b.query, options))
    return [200, { hits: hits.map(hitJson) }]
  })
}
