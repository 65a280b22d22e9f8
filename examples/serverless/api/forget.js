// DELETE /api/forget?id=N&user=U — `DELETE /v1/memories/{id}?user=U` of `memorable serve`
// → 200 {"forgotten": 1}. Another user's memory answers exactly like a missing one (404),
// so ids are no oracle of other users' data.
import { HttpError, invalid, query, serve, user } from '../lib/memorable.js'

const U64_MAX = 2n ** 64n - 1n

export default async function handler(req, res) {
  await serve(req, res, ['DELETE'], async ({ req, engine }) => {
    const q = query(req, ['id', 'user'])
    const id = memoryId(q.id)
    const owner = user(q.user)
    await engine((mem) => {
      let memory = null
      try {
        memory = id === null ? null : mem.get(id)
      } catch (err) {
        if (err.code !== 'NOT_FOUND') throw err
      }
      if (memory?.user !== owner) throw new HttpError('NOT_FOUND', 'no such memory')
      mem.forget(id)
    })
    return [200, { forgotten: 1 }]
  })
}

/** The id as a number; null for a valid u64 no memory can have (ids stay below 2^53). */
function memoryId(text) {
  if (text === undefined) throw invalid('query: missing parameter `id`')
  if (!/^\d+$/.test(text) || BigInt(text) > U64_MAX) throw invalid(`query: \`id\` must be a memory id, got ${JSON.stringify(text)}`)
  const id = Number(text)
  return Number.isSafeInteger(id) ? id : null
}
