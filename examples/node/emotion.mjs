// Emotion fusion from Node: readings from several sources fused per conversation, the state
// attached to what is remembered in it, and kept across reopening the store.
// Run: `node examples/node/emotion.mjs` (docs/emotion.md quotes this file).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { Memorable } from 'memorable'

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'memorable-emotion-'))
const mem = await Memorable.open(dir, { embedder: 'hashing', emotion: { halfLifeSecs: 120 } })

mem.observe({ context: 'call-42', source: 'evi', scores: { Joy: 0.62, Excitement: 0.41, Tiredness: 0.05 } })
mem.observe({
  context: 'call-42',
  source: 'face',
  scores: { joy: 0.7, 'surprise (positive)': 0.3 },
  confidence: 0.9,
  semantics: { kind: 'sparse', vocabulary: 'hume' },
})
const state = mem.emotionalState('call-42')
console.log(state.dominant, state.valence.toFixed(2), state.confidence.toFixed(2))
for (const s of state.sources) console.log(' ', s.source, s.share.toFixed(2))

const id = await mem.remember('I got the job!', { user: 'alice', session: 'call-42' })
console.log('memory', id, mem.get(id).emotion.dominant)

try {
  mem.observe({ context: 'call-42', source: 'face', scores: { joy: 1.5 } })
} catch (e) {
  console.log('rejected:', e.code)
}
console.log(mem.emotionalHistory('call-42', { limit: 10 }).length, 'states in the history')
mem.close()
