// Opens the memory vector index for a store: the kind VECTOR_INDEX asks for, rebuilt from the store's
// memoryEmbeddings when what is on disk is missing or stale. The app's plugin and the CLI (after an import
// or a restore) both go through here, so the index on disk always matches the store.
import { join } from 'node:path'
import { assignMemoryWorlds } from '../agents/memoryWorlds.ts'
import { MongoStore } from '../store/mongo.ts'
import type { Store } from '../store/types.ts'
import { createVectorIndex, type CreatedVectorIndex, type VectorIndexChoice } from './index.ts'
import type { VectorLogger } from './types.ts'

export interface StoreIndexOptions {
  store: Store
  kind: VectorIndexChoice
  dimension: number
  dataDir: string
  mongodbUrl?: string
  log: VectorLogger
}

/**
 * Changes whenever memory embeddings are added or removed, or given a world: their count, the newest id and
 * how many have no worldId (the index leaves those out, so a later migration of them means a rebuild).
 */
export async function embeddingsVersion (store: Store): Promise<string> {
  const embeddings = store.collection('memoryEmbeddings')
  const newest = await embeddings.findOne({}, { sort: { _creationTime: -1 } })
  return `${await embeddings.count()}:${newest?._id ?? ''}:${await embeddings.count({ worldId: null })}`
}

/** True for a MongoDB Atlas connection string (Vector Search available). */
export function isAtlasUrl (url: string | undefined): boolean {
  return /\.mongodb\.net([/:?]|$)/.test(url ?? '')
}

export async function openStoreVectorIndex (o: StoreIndexOptions): Promise<CreatedVectorIndex> {
  const { store, log } = o
  const mongo = store instanceof MongoStore ? store : undefined
  // Before anything reads the embeddings: the index holds only memories that belong to a world.
  await assignMemoryWorlds(store, log)
  const version = await embeddingsVersion(store)
  const created = await createVectorIndex(o.kind, {
    dimension: o.dimension,
    log,
    atlas: mongo !== undefined && isAtlasUrl(o.mongodbUrl),
    db: mongo?.db,
    dir: join(o.dataDir, 'vector'),
    expectedVersion: version,
    writeDocuments: false
  })
  if (created.kind === 'atlas') {
    await created.index.ensureSearchIndex()
    return created
  }
  if (!created.needsRebuild) return created
  // Embeddings without a world (player ids several worlds use, see assignMemoryWorlds) are left out: no world may see them.
  const scoped = { worldId: { $ne: null } }
  const total = await store.collection('memoryEmbeddings').count(scoped)
  log.info({ kind: created.kind, total }, 'rebuilding the memory vector index from the store')
  const source = (async function * () {
    for await (const doc of store.collection('memoryEmbeddings').iterate(scoped, { batchSize: 2000 })) {
      yield { id: doc._id, worldId: doc.worldId as string, playerId: doc.playerId as string, embedding: Float32Array.from(doc.embedding as number[]) }
    }
  })()
  if (created.kind === 'hnsw') {
    created.index.setVersion(version)
    await created.index.rebuild(source, {
      total,
      onProgress: (p) => { log.info({ done: p.done, total: p.total, phase: p.phase, elapsedMs: Math.round(p.elapsedMs) }, 'vector index rebuild') }
    })
  } else {
    let batch = []
    for await (const item of source) {
      batch.push(item)
      if (batch.length >= 2000) {
        await created.index.upsert(batch)
        batch = []
      }
    }
    await created.index.upsert(batch)
  }
  return created
}

/** Records the store's current version in a persisted index before it is flushed and closed. */
export async function closeStoreVectorIndex (store: Store, created: CreatedVectorIndex): Promise<void> {
  if (created.kind === 'hnsw') created.index.setVersion(await embeddingsVersion(store).catch(() => undefined))
  await created.index.flush()
  await created.index.close()
}
