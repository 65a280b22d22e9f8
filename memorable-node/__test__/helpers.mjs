// Shared helpers of the Node tests.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Open options of most tests: the built-in hashing embedder. Without them a store picks the
 * best cached model (MiniLM once scripts/fetch-model.sh has run), which embeds ~100 texts/s.
 */
export const HASHING = Object.freeze({ embedder: 'hashing' })

/** A fresh temporary directory, removed after the test. */
export function tempDir(t, prefix = 'memorable-node-') {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Assert that `fn` (sync or async) throws an Error with this `code`. */
export async function assertCode(assert, fn, code) {
  await assert.rejects(
    async () => fn(),
    (err) => {
      assert.ok(err instanceof Error, `expected an Error, got ${err}`)
      assert.strictEqual(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`)
      assert.ok(err.message.length > 0)
      return true
    },
  )
}
