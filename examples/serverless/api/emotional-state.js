// The emotional state of one of a user's contexts (docs/emotion.md):
//   GET  /api/emotional-state?user=U&context=C — `GET /v1/contexts/{context}/state?user=U`:
//        the context's fused state now (404 NOT_FOUND while it never had a reading).
//   POST /api/emotional-state?user=U&context=C — `POST /v1/contexts/{context}/readings?user=U`:
//        one reading {source, scores, confidence?, timestamp?, semantics?, context?} folded
//        in; answers the fused state right after it.
// A context belongs to its user: alice's `s1` and bob's `s1` are two contexts.
import { body, check, HttpError, invalid, query, serve, stateJson, time, user, userContext } from '../lib/memorable.js'

const READING = {
  context: check.optionalString,
  source: check.string,
  scores: scores,
  confidence: check.optionalNumber,
  timestamp: check.optionalString,
  semantics: check.any,
}

export default async function handler(req, res) {
  await serve(req, res, ['GET', 'HEAD', 'POST'], async ({ req, method, engine }) => {
    const q = query(req, ['user', 'context'])
    const owner = user(q.user)
    const context = q.context
    if (context === undefined) throw invalid('query: missing parameter `context`')
    if (context.trim() === '') throw invalid('query: `context` must not be blank')
    const id = userContext(owner, context)
    if (method === 'POST') {
      const r = await body(req, READING, ['source', 'scores'])
      if (r.context !== undefined && r.context !== context) {
        throw invalid("the body's context differs from the query's")
      }
      const reading = {
        context: id,
        source: r.source,
        scores: r.scores,
        confidence: r.confidence,
        timestamp: r.timestamp === undefined ? undefined : time(r.timestamp, 'timestamp'),
        semantics: r.semantics,
      }
      const state = await engine((mem) => mem.observe(reading))
      return [200, stateJson(state, context)]
    }
    const state = await engine((mem) => {
      try {
        return mem.emotionalState(id)
      } catch (err) {
        throw err.code === 'NOT_FOUND' ? new HttpError('NOT_FOUND', 'no such context') : err
      }
    })
    return [200, stateJson(state, context)]
  })
}

/** Expression name → score: an object of numbers (the engine checks the range). */
function scores(v, name) {
  check.optionalObject(v, name)
  if (v === null || !Object.values(v).every((s) => typeof s === 'number')) {
    throw invalid(`request body: \`${name}\` must be an object of expression name → number`)
  }
  return v
}
