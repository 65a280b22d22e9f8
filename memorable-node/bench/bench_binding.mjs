// The Node timer of the binding-overhead benchmark (driven by
// memorable-py/bench/bench_binding.py, which compares it with the Rust baseline on the same
// store and queries). Needs the built addon (npm install in memorable-node).
//
//   node memorable-node/bench/bench_binding.mjs recall STORE QUERIES_FILE [REPEAT]
//   node memorable-node/bench/bench_binding.mjs ingest STORE TEXTS_FILE
//
// recall: open (hashing embedder), one untimed pass over the queries, REPEAT timed passes of
// `await recall(q, { user: 'bench', limit: 10 })`, one call at a time. ingest: one timed
// `rememberBatch` of every line. Prints one JSON object (µs / s), with the process's CPU time
// per call (`cpu_us`, from process.cpuUsage(): the recall itself runs on a libuv thread).
import { readFileSync } from 'node:fs'

import { Memorable } from '../index.js'

const lines = (path) => readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0)
const [op, store, file, repeatArg] = process.argv.slice(2)

if (op === 'recall') {
  const queries = lines(file)
  const repeat = Number(repeatArg ?? 1)
  const mem = await Memorable.open(store, { embedder: 'hashing' })
  for (const q of queries) await mem.recall(q, { user: 'bench', limit: 10 })
  const times = []
  const cpu = process.cpuUsage()
  for (let r = 0; r < repeat; r++) {
    for (const q of queries) {
      const t = process.hrtime.bigint()
      const hits = await mem.recall(q, { user: 'bench', limit: 10 })
      times.push(Number(process.hrtime.bigint() - t) / 1e3)
      if (hits.length !== 10) throw new Error(`expected 10 hits, got ${hits.length}`)
    }
  }
  const used = process.cpuUsage(cpu)
  const cpuUs = (used.user + used.system) / times.length
  mem.close()
  const total = times.reduce((a, b) => a + b, 0)
  times.sort((a, b) => a - b)
  const at = (q) => times[Math.round((times.length - 1) * q)]
  console.log(JSON.stringify({ lang: 'node', op: 'recall', n: times.length, p50_us: at(0.5), p95_us: at(0.95), mean_us: total / times.length, cpu_us: cpuUs }))
} else if (op === 'ingest') {
  const items = lines(file).map((text) => ({ user: 'bench', text }))
  const mem = await Memorable.open(store, { embedder: 'hashing' })
  const [t, cpu] = [process.hrtime.bigint(), process.cpuUsage()]
  const ids = await mem.rememberBatch(items)
  const secs = Number(process.hrtime.bigint() - t) / 1e9
  const used = process.cpuUsage(cpu)
  if (ids.length !== items.length) throw new Error('lost items')
  mem.close()
  console.log(JSON.stringify({ lang: 'node', op: 'remember_batch', n: items.length, total_s: secs, cpu_s: (used.user + used.system) / 1e6 }))
} else {
  console.error('usage: bench_binding.mjs recall STORE QUERIES [REPEAT] | ingest STORE TEXTS')
  process.exit(2)
}
