// The memory vector index (VECTOR_INDEX): HNSW files under DATA_DIR/vector, Atlas $vectorSearch, or exact.
// Rebuilt from the store when missing or stale; flushed and closed with the app.
import { join } from 'node:path'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createVectorIndex } from '../../src/vector/index.ts'
import type { MemoryVectorIndex } from '../../src/vector/types.ts'
import { MongoStore } from '../../src/store/mongo.ts'
import type { Store } from '../../src/store/types.ts'

declare module 'fastify' {
  interface FastifyInstance {
    vectorIndex: MemoryVectorIndex
  }
}

/** Changes whenever memory embeddings are added or removed: their count and the newest id. */
async function embeddingsVersion (store: Store): Promise<string> {
  const embeddings = store.collection('memoryEmbeddings')
  const newest = await embeddings.findOne({}, { sort: { _creationTime: -1 } })
  return `${await embeddings.count()}:${newest?._id ?? ''}`
}

async function vectorIndexPlugin (fastify: FastifyInstance): Promise<void> {
  const { config, store } = fastify
  const log = fastify.log.child({ plugin: 'vector-index' })
  const mongo = store instanceof MongoStore ? store : undefined
  const atlas = mongo !== undefined && /\.mongodb\.net([/:?]|$)/.test(config.MONGODB_URL ?? '')
  const version = await embeddingsVersion(store)
  const created = await createVectorIndex(config.VECTOR_INDEX, {
    dimension: config.llm.embedding.dimension,
    log,
    atlas,
    db: mongo?.db,
    dir: join(config.DATA_DIR, 'vector'),
    expectedVersion: version,
    writeDocuments: false
  })
  const index = created.index
  if (created.kind === 'atlas') {
    await created.index.ensureSearchIndex()
  } else if (created.needsRebuild) {
    const total = await store.collection('memoryEmbeddings').count()
    log.info({ kind: created.kind, total }, 'rebuilding the memory vector index from the store')
    const source = (async function * () {
      for await (const doc of store.collection('memoryEmbeddings').iterate({}, { batchSize: 2000 })) {
        yield { id: doc._id, playerId: doc.playerId as string, embedding: Float32Array.from(doc.embedding as number[]) }
      }
    })()
    if (created.kind === 'hnsw') {
      created.index.setVersion(version)
      await created.index.rebuild(source, {
        total,
        onProgress: (p) => { log.info({ done: p.done, total: p.total, phase: p.phase, elapsedMs: Math.round(p.elapsedMs) }, 'vector index rebuild') }
      })
    } else {
      const batch = []
      for await (const item of source) batch.push(item)
      await index.upsert(batch)
    }
  }
  log.info({ kind: created.kind, vectors: index.size() }, 'memory vector index ready')
  fastify.decorate('vectorIndex', index)
  fastify.addHook('onClose', async () => {
    if (created.kind === 'hnsw') created.index.setVersion(await embeddingsVersion(store).catch(() => undefined))
    await index.flush()
    await index.close()
  })
}

export default fp(vectorIndexPlugin, { name: 'vector-index', dependencies: ['store', 'llm'], fastify: '5.x' })
