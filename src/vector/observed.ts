// A vector index that reports each search (latency, outcome) and otherwise delegates unchanged.
import type { MemoryVectorIndex } from './types.ts'

export interface VectorSearchReport {
  kind: MemoryVectorIndex['kind']
  ms: number
  ok: boolean
  hits: number
}

export function observeSearches (index: MemoryVectorIndex, onSearch: (report: VectorSearchReport) => void): MemoryVectorIndex {
  const report = (r: VectorSearchReport): void => {
    try { onSearch(r) } catch { /* observers must never break a search */ }
  }
  return {
    get kind () { return index.kind },
    upsert: async (items) => { await index.upsert(items) },
    remove: async (ids) => { await index.remove(ids) },
    search: async (worldId, playerId, query, k) => {
      const started = performance.now()
      try {
        const hits = await index.search(worldId, playerId, query, k)
        report({ kind: index.kind, ms: performance.now() - started, ok: true, hits: hits.length })
        return hits
      } catch (err) {
        report({ kind: index.kind, ms: performance.now() - started, ok: false, hits: 0 })
        throw err
      }
    },
    size: () => index.size(),
    flush: async () => { await index.flush() },
    close: async () => { await index.close() }
  }
}
