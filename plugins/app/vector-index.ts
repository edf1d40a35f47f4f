// The memory vector index (VECTOR_INDEX): HNSW files under DATA_DIR/vector, Atlas $vectorSearch, or exact.
// Rebuilt from the store when missing or stale; flushed and closed with the app. On MongoDB an instance's own
// index (HNSW, exact) follows the embeddings other instances write, through the change feed.
import { EventEmitter } from 'node:events'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { closeStoreVectorIndex, openStoreVectorIndex } from '../../src/vector/fromStore.ts'
import type { MemoryVectorIndex } from '../../src/vector/types.ts'
import { observeSearches, type VectorSearchReport } from '../../src/vector/observed.ts'
import { followEmbeddings } from '../../src/vector/follow.ts'

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
  // Several instances share a MongoDB and worlds move between them: a world's memories, written into the index of
  // the instance that ran it then, must reach the index of the one that runs it next. Atlas is one shared index.
  const followed = store.kind === 'mongodb' && created.kind !== 'atlas'
    ? followEmbeddings(created.index, fastify.changeFeed, { dimension: config.llm.embedding.dimension, log })
    : undefined
  log.info({ kind: created.kind, vectors: created.index.size(), followsOtherInstances: followed !== undefined }, 'memory vector index ready')
  const searches = new EventEmitter()
  fastify.decorate('vectorIndex', observeSearches(followed?.index ?? created.index, (report) => { searches.emit('search', report) }))
  fastify.decorate('vectorSearches', { on: (listener: (report: VectorSearchReport) => void) => { searches.on('search', listener) } })
  fastify.addHook('onClose', async () => {
    followed?.stop()
    await followed?.settled()
    searches.removeAllListeners()
    await closeStoreVectorIndex(store, created)
  })
}

export default fp(vectorIndexPlugin, { name: 'vector-index', dependencies: ['store', 'change-feed', 'llm'], fastify: '5.x' })
