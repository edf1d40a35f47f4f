// The memory vector index (VECTOR_INDEX): HNSW files under DATA_DIR/vector, Atlas $vectorSearch, or exact.
// Rebuilt from the store when missing or stale; flushed and closed with the app.
import { EventEmitter } from 'node:events'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { closeStoreVectorIndex, openStoreVectorIndex } from '../../src/vector/fromStore.ts'
import type { MemoryVectorIndex } from '../../src/vector/types.ts'
import { observeSearches, type VectorSearchReport } from '../../src/vector/observed.ts'

declare module 'fastify' {
  interface FastifyInstance {
    vectorIndex: MemoryVectorIndex
    /** Every search of `vectorIndex` (latency and outcome), for metrics. */
    vectorSearches: { on: (listener: (report: VectorSearchReport) => void) => void }
  }
}

async function vectorIndexPlugin (fastify: FastifyInstance): Promise<void> {
  const { config, store } = fastify
  const log = fastify.log.child({ plugin: 'vector-index' })
  const created = await openStoreVectorIndex({
    store, kind: config.VECTOR_INDEX, dimension: config.llm.embedding.dimension, dataDir: config.DATA_DIR, mongodbUrl: config.MONGODB_URL, log
  })
  log.info({ kind: created.kind, vectors: created.index.size() }, 'memory vector index ready')
  const searches = new EventEmitter()
  fastify.decorate('vectorIndex', observeSearches(created.index, (report) => { searches.emit('search', report) }))
  fastify.decorate('vectorSearches', { on: (listener: (report: VectorSearchReport) => void) => { searches.on('search', listener) } })
  fastify.addHook('onClose', async () => {
    searches.removeAllListeners()
    await closeStoreVectorIndex(store, created)
  })
}

export default fp(vectorIndexPlugin, { name: 'vector-index', dependencies: ['store', 'llm'], fastify: '5.x' })
