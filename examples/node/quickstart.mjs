// MemoRable from Node.js: remember, recall, close. Run by memorable-node's tests
// (`node examples/node/quickstart.mjs`); docs/node.md quotes it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Memorable } from 'memorable'

const dir = mkdtempSync(join(tmpdir(), 'memorable-quickstart-'))
const mem = await Memorable.open(dir)
try {
  const biscuit = await mem.remember('I adopted a puppy named Biscuit', {
    user: 'alice',
    speaker: 'alice',
    tags: ['pets'],
    occurredAt: new Date('2024-05-01T10:00:00Z'),
  })
  await mem.rememberBatch([
    { user: 'alice', text: 'The quarterly report is due on Friday', tags: ['work'] },
    { user: 'alice', text: 'My sister lives in Lisbon', place: 'Lisbon' },
  ])

  const [best] = await mem.recall('what is my puppy called?', { user: 'alice', limit: 1 })
  console.log(`${best.memory.text} (score ${best.score.toFixed(4)})`)
  if (best.memory.id !== biscuit) throw new Error('expected the puppy memory first')

  try {
    await mem.remember('   ', { user: 'alice' })
  } catch (err) {
    console.log(`rejected: ${err.code}`) // EMPTY_TEXT
  }
  console.log(`${mem.stats().memories} memories`)
} finally {
  mem.close()
  rmSync(dir, { recursive: true, force: true })
}
