// Encryption at rest through Node: `encryptionKey` (or MEMORABLE_KEY), WRONG_KEY without it,
// no plaintext in any file, verify / restore with `{ key }`, sealed exports, and `rekey`.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { Memorable, rekey, restore, verify } from '../index.js'
import { assertCode, HASHING, tempDir } from './helpers.mjs'

const SECRET = 'Fandangulor'

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? filesUnder(p) : [p]
  })
}

test('an encrypted store: keys, no plaintext, backups, exports, rekey', async (t) => {
  delete process.env.MEMORABLE_KEY
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const mem = await Memorable.open(store, { ...HASHING, encryptionKey: 'node-key-1' })
  const id = await mem.remember(`the password hint is ${SECRET}`, { user: 'ann' })
  for (let i = 0; i < 40; i++) await mem.remember(`filler ${i}`, { user: 'ann' })
  await mem.backup(join(dir, 'b.mrbak'))
  assert.equal(await mem.exportUser('ann', join(dir, 'ann.jsonl')), 41)
  mem.close()
  for (const f of filesUnder(dir)) {
    assert.equal(readFileSync(f).includes(SECRET), false, `${f} holds the secret in plaintext`)
    assert.equal(readFileSync(f).includes('node-key-1'), false, `${f} holds the key`)
  }

  await assertCode(assert, () => Memorable.open(store, HASHING), 'WRONG_KEY')
  await assertCode(assert, () => Memorable.open(store, { ...HASHING, encryptionKey: 'nope' }), 'WRONG_KEY')
  await assertCode(assert, () => verify(join(dir, 'b.mrbak')), 'WRONG_KEY')
  assert.equal((await verify(join(dir, 'b.mrbak'), { key: 'node-key-1' })).ok, true)
  const r = await restore(join(dir, 'b.mrbak'), join(dir, 'restored'), { key: 'node-key-1' })
  assert.equal(r.memories, 41)

  await assertCode(assert, () => rekey(store, 'wrong', 'node-key-2'), 'WRONG_KEY')
  await rekey(store, 'node-key-1', 'node-key-2')
  await assertCode(assert, () => Memorable.open(store, { ...HASHING, encryptionKey: 'node-key-1' }), 'WRONG_KEY')
  const again = await Memorable.open(store, { ...HASHING, encryptionKey: 'node-key-2' })
  assert.equal(again.get(id).text, `the password hint is ${SECRET}`)
  again.close()

  // MEMORABLE_KEY is the default key; the sealed export opens with the key it was sealed with.
  process.env.MEMORABLE_KEY = 'node-key-1'
  try {
    const other = await Memorable.open(join(dir, 'other'), HASHING)
    assert.equal((await other.importJsonl(join(dir, 'ann.jsonl'))).imported, 41)
    other.close()
  } finally {
    delete process.env.MEMORABLE_KEY
  }
})
