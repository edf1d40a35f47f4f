// An instance's own vector index (HNSW or exact) kept in step with memory embeddings that other instances write.
// With several instances on one MongoDB, a world moves between them (failover, handoff, balance): its agents'
// memories were written into the index of the instance that ran it then. The change feed brings every
// memoryEmbeddings insert and delete to every instance, which applies the ones it did not make itself.
import type { ChangeEvent, ChangeFeed } from '../store/types.ts'
import type { MemoryVector, MemoryVectorIndex, VectorLogger } from './types.ts'

/** How many of its own writes an instance remembers, to skip their echo from the feed. */
const OWN_WRITES_KEPT = 10_000

export interface FollowedIndex {
  /** The index to use: it delegates to the wrapped one and notes this instance's own writes. */
  index: MemoryVectorIndex
  /** Resolves once the changes heard so far are applied (tests, shutdown). */
  settled: () => Promise<void>
  /** Stops following; changes heard afterwards are dropped. */
  stop: () => void
}

/** The vector of a memoryEmbeddings document, or undefined when it is not one the index holds (no world yet). */
function vectorOf (event: ChangeEvent, dimension: number): MemoryVector | undefined {
  const doc = event.doc
  if (doc === undefined) return undefined
  const { worldId, playerId, embedding } = doc as { worldId?: unknown, playerId?: unknown, embedding?: unknown }
  if (typeof worldId !== 'string' || typeof playerId !== 'string' || !Array.isArray(embedding)) return undefined
  if (embedding.length !== dimension) return undefined
  return { id: event.id, worldId, playerId, embedding: Float32Array.from(embedding as number[]) }
}

export function followEmbeddings (inner: MemoryVectorIndex, feed: ChangeFeed, o: { dimension: number, log: VectorLogger }): FollowedIndex {
  // Ids this instance upserted or removed itself, oldest first: their echo on the feed is already applied. Kept
  // apart, so an upsert whose echo came first (and was applied) can never hide a later delete made elsewhere.
  const ownUpserts = new Set<string>()
  const ownRemoves = new Set<string>()
  const noteOwn = (own: Set<string>, ids: Iterable<string>): void => {
    for (const id of ids) {
      own.delete(id)
      own.add(id)
    }
    for (const id of own) {
      if (own.size <= OWN_WRITES_KEPT) break
      own.delete(id)
    }
  }
  let stopped = false
  // Changes are applied one after another, in the order the feed delivered them.
  let chain = Promise.resolve()
  const apply = (event: ChangeEvent): void => {
    if (stopped || event.collection !== 'memoryEmbeddings') return
    if ((event.op === 'delete' ? ownRemoves : ownUpserts).delete(event.id)) return
    chain = chain.then(async () => {
      if (stopped) return
      if (event.op === 'delete') {
        await inner.remove([event.id])
        return
      }
      const vector = vectorOf(event, o.dimension)
      if (vector !== undefined) await inner.upsert([vector])
    }).catch((err: unknown) => {
      o.log.warn({ err, id: event.id, op: event.op }, 'could not apply another instance\'s memory embedding to the vector index')
    })
  }
  const unsubscribe = feed.subscribe(['memoryEmbeddings'], apply)
  const index: MemoryVectorIndex = {
    get kind () { return inner.kind },
    upsert: async (items) => {
      noteOwn(ownUpserts, items.map((i) => i.id))
      await inner.upsert(items)
    },
    remove: async (ids) => {
      noteOwn(ownRemoves, ids)
      await inner.remove(ids)
    },
    search: async (worldId, playerId, query, k) => await inner.search(worldId, playerId, query, k),
    size: () => inner.size(),
    flush: async () => { await inner.flush() },
    close: async () => { await inner.close() }
  }
  return {
    index,
    settled: async () => { await chain },
    stop: () => {
      stopped = true
      unsubscribe()
    }
  }
}
