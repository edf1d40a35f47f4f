import createError from '@fastify/error'
import type { Collection, Db, Document } from 'mongodb'
import { assertDimension } from './types.ts'
import type { MemoryVector, MemoryVectorIndex, VectorHit, VectorLogger } from './types.ts'

export const ATLAS_DEFAULTS = {
  collection: 'memoryEmbeddings',
  indexName: 'memoryEmbeddings_vector',
  /** numCandidates = k × overfetch; Atlas suggests 10–20× the limit for good recall. */
  overfetch: 10,
  readyTimeoutMs: 5 * 60_000,
  pollMs: 2_000
}

/** Atlas caps numCandidates at 10,000. */
const MAX_CANDIDATES = 10_000

export const AtlasSearchIndexError = createError<[string, string]>('TOWNHALL_ERR_ATLAS_SEARCH_INDEX', 'vector search index %s: %s', 503)

/** A memoryEmbeddings document as this index reads and writes it. */
export interface MemoryEmbeddingDoc {
  _id: string
  worldId: string
  playerId: string
  embedding: number[]
}

export interface SearchIndexDescriptionDoc {
  name: string
  type: 'vectorSearch'
  definition: {
    fields: Array<
      { type: 'vector', path: string, numDimensions: number, similarity: 'cosine' } |
      { type: 'filter', path: string }
    >
  }
}

/** The fields every search filters on: memories belong to one player of one world. */
export const VECTOR_FILTER_FIELDS = ['worldId', 'playerId'] as const

/** The Atlas Vector Search index over `embedding`, filterable by `worldId` and `playerId`. */
export function vectorSearchIndexDefinition (dimension: number, name = ATLAS_DEFAULTS.indexName): SearchIndexDescriptionDoc {
  return {
    name,
    type: 'vectorSearch',
    definition: {
      fields: [
        { type: 'vector', path: 'embedding', numDimensions: dimension, similarity: 'cosine' },
        ...VECTOR_FILTER_FIELDS.map((path) => ({ type: 'filter' as const, path }))
      ]
    }
  }
}

export interface VectorSearchPipelineOptions {
  indexName?: string
  worldId: string
  playerId: string
  query: Float32Array | number[]
  k: number
  overfetch?: number
}

/** The aggregation for one player's k nearest memories in one world: `$vectorSearch` then the id and score. */
export function vectorSearchPipeline (opts: VectorSearchPipelineOptions): Document[] {
  const { indexName = ATLAS_DEFAULTS.indexName, worldId, playerId, query, k, overfetch = ATLAS_DEFAULTS.overfetch } = opts
  const limit = Math.min(Math.max(1, Math.floor(k)), MAX_CANDIDATES)
  return [
    {
      $vectorSearch: {
        index: indexName,
        path: 'embedding',
        queryVector: Array.from(query),
        numCandidates: Math.min(Math.max(limit, limit * overfetch), MAX_CANDIDATES),
        limit,
        filter: { worldId: { $eq: worldId }, playerId: { $eq: playerId } }
      }
    },
    { $project: { _id: 1, score: { $meta: 'vectorSearchScore' } } }
  ]
}

/** Atlas reports cosine as (1 + cos) / 2 in [0, 1]; the index interface promises the cosine itself. */
export function cosineFromVectorSearchScore (score: number): number {
  return score * 2 - 1
}

/** True when an existing search index has the definition we would create (same dimension and filter fields). */
export function sameDefinition (existing: Document | undefined, wanted: SearchIndexDescriptionDoc): boolean {
  const fields = (existing?.latestDefinition ?? existing?.definition)?.fields as Document[] | undefined
  if (fields === undefined) return false
  const vector = fields.find(f => f.type === 'vector')
  const filters = new Set(fields.filter(f => f.type === 'filter').map(f => f.path as string))
  const want = wanted.definition.fields
  const wantVector = want.find(f => f.type === 'vector') as { path: string, numDimensions: number, similarity: string }
  return vector?.path === wantVector.path && vector?.numDimensions === wantVector.numDimensions &&
    vector?.similarity === wantVector.similarity && filters.size === VECTOR_FILTER_FIELDS.length && VECTOR_FILTER_FIELDS.every(f => filters.has(f))
}

export interface AtlasIndexOptions {
  db: Db
  dimension: number
  collection?: string
  indexName?: string
  overfetch?: number
  log?: VectorLogger
  /**
   * When the store already writes memoryEmbeddings documents, pass false: upsert and remove then
   * leave the collection alone and the index only searches.
   */
  writeDocuments?: boolean
}

export interface EnsureSearchIndexOptions {
  timeoutMs?: number
  pollMs?: number
}

export interface AtlasVectorIndex extends MemoryVectorIndex {
  readonly kind: 'atlas'
  /** Creates (or updates) the vector search index when missing or different and waits until it is queryable. */
  ensureSearchIndex (opts?: EnsureSearchIndexOptions): Promise<void>
}

/** Atlas Vector Search over the memoryEmbeddings collection; the Db (and its client) stay the caller's. */
export function createAtlasIndex (opts: AtlasIndexOptions): AtlasVectorIndex {
  const { db, dimension, log, writeDocuments = true } = opts
  const collectionName = opts.collection ?? ATLAS_DEFAULTS.collection
  const indexName = opts.indexName ?? ATLAS_DEFAULTS.indexName
  const overfetch = opts.overfetch ?? ATLAS_DEFAULTS.overfetch
  const collection: Collection<MemoryEmbeddingDoc> = db.collection<MemoryEmbeddingDoc>(collectionName)
  // size() is synchronous, so it reports the count as of the last refresh plus our own writes.
  let knownSize = 0

  async function refreshSize (): Promise<void> {
    knownSize = await collection.estimatedDocumentCount()
  }

  return {
    kind: 'atlas',

    async ensureSearchIndex (ensureOpts: EnsureSearchIndexOptions = {}): Promise<void> {
      const { timeoutMs = ATLAS_DEFAULTS.readyTimeoutMs, pollMs = ATLAS_DEFAULTS.pollMs } = ensureOpts
      const wanted = vectorSearchIndexDefinition(dimension, indexName)
      // Atlas refuses search indexes on a collection that does not exist yet.
      await db.createCollection(collectionName).catch((err: { code?: number }) => {
        if (err.code !== 48) throw err // NamespaceExists
      })
      const [existing] = await collection.listSearchIndexes(indexName).toArray() as Document[]
      if (existing === undefined) {
        log?.info({ indexName, collection: collectionName, dimension }, 'creating vector search index')
        await collection.createSearchIndex(wanted)
      } else if (!sameDefinition(existing, wanted)) {
        log?.warn({ indexName, collection: collectionName, dimension }, 'vector search index differs, updating it')
        await collection.updateSearchIndex(indexName, wanted.definition)
      }
      const started = Date.now()
      for (;;) {
        const [current] = await collection.listSearchIndexes(indexName).toArray() as Document[]
        const status = String(current?.status ?? 'MISSING')
        if (current?.queryable === true && sameDefinition(current, wanted)) {
          log?.info({ indexName, status, waitedMs: Date.now() - started }, 'vector search index is queryable')
          break
        }
        if (status === 'FAILED') throw new AtlasSearchIndexError(indexName, `build failed: ${String(current?.message ?? 'no message')}`)
        if (Date.now() - started > timeoutMs) throw new AtlasSearchIndexError(indexName, `not queryable after ${timeoutMs} ms (status ${status})`)
        log?.info({ indexName, status, waitedMs: Date.now() - started }, 'waiting for the vector search index')
        await new Promise(resolve => setTimeout(resolve, pollMs))
      }
      await refreshSize()
    },

    async upsert (items: MemoryVector[]): Promise<void> {
      for (const item of items) assertDimension(item.embedding, dimension)
      if (!writeDocuments || items.length === 0) return
      const result = await collection.bulkWrite(items.map(({ id, worldId, playerId, embedding }) => ({
        replaceOne: { filter: { _id: id }, replacement: { _id: id, worldId, playerId, embedding: Array.from(embedding) }, upsert: true }
      })), { ordered: false })
      knownSize += result.upsertedCount
    },

    async remove (ids: string[]): Promise<void> {
      if (!writeDocuments || ids.length === 0) return
      const result = await collection.deleteMany({ _id: { $in: ids } })
      knownSize = Math.max(0, knownSize - result.deletedCount)
    },

    async search (worldId: string, playerId: string, query: Float32Array, k: number): Promise<VectorHit[]> {
      assertDimension(query, dimension)
      if (k <= 0) return []
      const docs = await collection.aggregate<{ _id: string, score: number }>(
        vectorSearchPipeline({ indexName, worldId, playerId, query, k, overfetch })
      ).toArray()
      return docs.map(d => ({ id: String(d._id), score: cosineFromVectorSearchScore(d.score) }))
    },

    size (): number {
      return knownSize
    },

    async flush (): Promise<void> {},

    async close (): Promise<void> {}
  }
}
