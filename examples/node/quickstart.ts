// The quick start in TypeScript; memorable-node/test.sh type-checks it (`tsc --noEmit`).
import { Memorable, type Recalled, type RememberItem } from 'memorable'

async function main(): Promise<void> {
  const mem: Memorable = Memorable.openInMemory({ maxTextChars: 2000 })
  try {
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
