// The model registry through Node: update from a source, the versions in stats(), rollback,
// reloadModels, gc. Needs MiniLM in the model cache (fails, never skips, without it).
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, relative } from 'node:path'
import { test } from 'node:test'

import { Memorable, modelsGc, modelsList, modelsRollback, modelsUpdate } from '../index.js'
import { assertCode, tempDir } from './helpers.mjs'

const modelCache =
  process.env.MEMORABLE_MODEL_DIR ||
  (process.env.MEMORABLE_HOME && join(process.env.MEMORABLE_HOME, 'models')) ||
  join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'memorable', 'models')

/** Hard-link the files of `src` into `dst`; their manifest entries. */
function linkTree(src, dst, root = src) {
  const files = []
  for (const name of readdirSync(src).sort()) {
    if (name.startsWith('.')) continue
    const from = join(src, name)
    const to = join(dst, relative(root, from))
    if (statSync(from).isDirectory()) {
      files.push(...linkTree(from, dst, root))
      continue
    }
    mkdirSync(join(to, '..'), { recursive: true })
    try {
      linkSync(from, to)
    } catch {
      copyFileSync(from, to) // another file system: copy
    }
    const sha256 = createHash('sha256').update(readFileSync(from)).digest('hex')
    files.push({ path: relative(root, from), sha256, size: statSync(from).size })
  }
  return files
}

test('modelsUpdate, stats().models, modelsRollback, reloadModels, modelsGc', async (t) => {
  const minilm = join(modelCache, 'minilm')
  assert.ok(existsSync(join(minilm, 'model.safetensors')), `MiniLM must be in ${modelCache}: run scripts/fetch-model.sh`)
  const root = tempDir(t)
  const cache = join(root, 'cache')
  const source = join(root, 'source')
  linkTree(minilm, join(cache, 'minilm'))
  const files = linkTree(minilm, join(source, 'minilm-0.1.1'))
  const entry = {
    name: 'minilm',
    role: 'embedding',
    model_id: 'sentence-transformers/all-MiniLM-L6-v2',
    backend: 'candle-bert',
    dim: 384,
    max_seq_length: 256,
    source: { kind: 'folder', package: '', version: '0.1.1', folder: 'minilm-0.1.1' },
    files,
  }
  writeFileSync(join(source, 'index.json'), JSON.stringify({ version: 1, models: [entry] }))

  const state = async (version) =>
    (await modelsList({ modelDir: cache })).find((v) => v.name === 'minilm' && v.version === version)?.state
  assert.equal(await state('0.1.0'), 'active')
  const activated = await modelsUpdate('minilm', { source, modelDir: cache })
  assert.deepEqual(activated.map((v) => v.version), ['0.1.1'])
  assert.ok(activated[0].verification.probeCosine >= 0.9999)
  assert.equal(await state('0.1.0'), 'previous')
  assert.equal(await state('0.1.1'), 'active')

  const mem = await Memorable.open(join(root, 'store'), { embedder: 'minilm', modelDir: cache, generator: 'none' })
  t.after(() => mem.close())
  const inUse = () => mem.stats().models.filter((m) => m.name === 'minilm').map((m) => m.version)
  assert.deepEqual(inUse(), ['0.1.1'])
  assert.equal((await modelsRollback('minilm', { modelDir: cache })).version, '0.1.0')
  await assertCode(assert, () => modelsRollback('minilm', { modelDir: cache }), 'NO_PREVIOUS_VERSION')
  assert.deepEqual((await modelsGc({ modelDir: cache })).inUse, ['minilm@0.1.1'])
  await mem.reloadModels()
  assert.deepEqual(inUse(), ['0.1.0'])
  const report = await modelsGc({ modelDir: cache })
  assert.deepEqual(report.removed, ['minilm@0.1.1'])
  assert.ok(!existsSync(join(cache, 'minilm@0.1.1')))
})
