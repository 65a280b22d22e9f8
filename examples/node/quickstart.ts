// The quick start in TypeScript; memorable-node/test.sh type-checks it (`tsc --noEmit`).
import { Memorable, type Recalled, type ReembedReport, type RememberItem, type SelectionReport } from 'memorable'

async function main(): Promise<void> {
  // `embedder: 'hashing'` needs no model files; the default ('auto') picks MiniLM when cached.
  const mem: Memorable = Memorable.openInMemory({ maxTextChars: 2000, embedder: 'hashing' })
  try {
    const selection: SelectionReport = mem.selectionReport()
    console.log(selection.chosen, selection.fallbackReason ?? 'no fallback')
    const id: number = await mem.remember('I adopted a puppy named Biscuit', {
      user: 'alice',
      speaker: 'alice',
      occurredAt: new Date(),
      metadata: { source: 'chat' },
    })
    const items: RememberItem[] = [
      { user: 'alice', text: 'The quarterly report is due on Friday', tags: ['work'] },
    ]
    const ids: number[] = await mem.rememberBatch(items)

    const hits: Recalled[] = await mem.recall('puppy', { user: 'alice', limit: 3, tags: [] })
    for (const hit of hits) {
      const rank: number | null = hit.breakdown.semanticRank
      console.log(hit.memory.id, hit.memory.text, hit.score, rank)
    }
    const exact: Recalled[] = await mem.recall('quarterly', { user: 'alice', mode: 'keyword' })
    console.log(exact.map((h) => h.breakdown.keywordRank))

    // Move the vectors to MiniLM (needs scripts/fetch-model.sh); `false` from the callback pauses.
    const report: ReembedReport = await mem.reembed('minilm', (p) => {
      console.log(`${p.done}/${p.total} → ${p.targetModelId}`)
      return p.done < 1_000
    })
    console.log(report.completed, report.modelId, mem.stats().embedder.fallbackReason)

    const updated = await mem.update(id, { tags: ['pets'] })
    console.log(updated.version, mem.history(id).length, ids.length)
    console.log(mem.recent({ user: 'alice', since: new Date(0) }).length)
  } catch (err) {
    console.error((err as Error & { code?: string }).code)
  } finally {
    mem.close()
  }
}

void main()
