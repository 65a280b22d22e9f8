// POST /api/remember — `POST /v1/memories` of `memorable serve`:
// {user, text, speaker?, session?, occurred_at?, place?, tags?, topics?, metadata?,
//  importance?, kind?, derived_from?, client_key?} → 201 {"id": N}.
import { body, check, serve, user } from '../lib/memorable.js'

const FIELDS = {
  user: check.optionalString,
  text: check.string,
  speaker: check.optionalString,
  session: check.optionalString,
  occurred_at: check.optionalTime,
  place: check.optionalString,
  tags: check.strings,
  topics: check.strings,
  metadata: check.any,
  importance: check.optionalNumber,
  kind: check.optionalString,
  derived_from: check.ids,
  client_key: check.optionalString,
}

export default async function handler(req, res) {
  await serve(req, res, ['POST'], async ({ req, engine }) => {
    const b = await body(req, FIELDS, ['text'])
    const options = {
      user: user(b.user),
      speaker: b.speaker,
      session: b.session,
      occurredAt: b.occurred_at,
      place: b.place,
      tags: b.tags,
      topics: b.topics,
      metadata: b.metadata,
      importance: b.importance,
      kind: b.kind,
      derivedFrom: b.derived_from,
      clientKey: b.client_key,
    }
    const id = await engine((mem) => mem.remember(b.text, options))
    return [201, { id }]
  })
}
