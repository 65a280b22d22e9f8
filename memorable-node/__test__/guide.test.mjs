// docs/guide.md: every ```js block runs as written, as an ES module in a fresh scratch
// directory where `import 'memorable'` resolves to this package (the blocks open "memories"
// relative to it).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const guide = readFileSync(join(pkg, '..', 'docs', 'guide.md'), 'utf8')

const blocks = [...guide.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => ({
  line: guide.slice(0, m.index).split('\n').length,
  code: m[1],
}))

test('the guide has JavaScript blocks', () => {
  assert.ok(blocks.length >= 1)
})

for (const { line, code } of blocks) {
  test(`docs/guide.md:${line} runs`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'memorable-guide-js-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(pkg, join(dir, 'node_modules', 'memorable'), 'dir')
    writeFileSync(join(dir, 'snippet.mjs'), code)
    const env = { ...process.env }
    delete env.MEMORABLE_KEY
    execFileSync(process.execPath, ['snippet.mjs'], { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  })
}
