// Examples are tests: run examples/node/quickstart.mjs as a user would (`import 'memorable'`).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const examples = join(pkg, '..', 'examples', 'node')

/** Make `import 'memorable'` resolve from examples/node (git-ignored link to this package). */
function linkExamples() {
  const link = join(examples, 'node_modules', 'memorable')
  if (!existsSync(link)) {
    mkdirSync(dirname(link), { recursive: true })
    symlinkSync(pkg, link, 'dir')
  }
}

test('examples/node/quickstart.mjs runs', () => {
  linkExamples()
  const out = execFileSync(process.execPath, [join(examples, 'quickstart.mjs')], { encoding: 'utf8' })
  assert.match(out, /I adopted a puppy named Biscuit/)
  assert.match(out, /rejected: EMPTY_TEXT/)
  assert.match(out, /3 memories/)
})

test('examples/node/emotion.mjs runs', (t) => {
  linkExamples()
  const dir = mkdtempSync(join(tmpdir(), 'memorable-emotion-example-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const out = execFileSync(process.execPath, [join(examples, 'emotion.mjs'), dir], { encoding: 'utf8' })
  assert.match(out, /^joy /)
  assert.match(out, /rejected: INVALID_INPUT/)
  assert.match(out, /2 states in the history/)
})
