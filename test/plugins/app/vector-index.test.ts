import { test } from 'tap'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import fp from 'fastify-plugin'
import Fastify from 'fastify'
import app from '../../../src/app.ts'
import { loadConfig } from '../../../src/config.ts'
import { storeTargets } from '../../helpers/stores.ts'
import '../../helpers/app.ts'
import type { MemoryDoc } from '../../../src/agents/memory.ts'
import { waitFor } from '../../helpers/engine.ts'

const embedded = storeTargets()[0]!

test('memories survive a restart in the HNSW index, and a missing index is rebuilt from the store', async (t) => {
  const { store, config: storeConfig } = await embedded.fresh(t)
  await store.close()
  const config = loadConfig({ LOG_LEVEL: 'silent', ...storeConfig, ENGINE_ENABLED: 'false', EMBEDDING_DIMENSION: '256' })
  const boot = async (): Promise<ReturnType<typeof Fastify>> => {
    const fastify = Fastify({ logger: false })
    await fastify.register(fp(app), { config })
    await fastify.ready()
    return fastify
  }
  const first = await boot()
  t.equal(first.vectorIndex.kind, 'hnsw')
  const memory = await first.memories.add({ worldId: 'w:1', playerId: 'p:1', description: 'I watched the river flood the mill last spring', importance: 7, data: { type: 'relationship', playerId: 'p:2' } })
  await first.memories.add({ worldId: 'w:1', playerId: 'p:2', description: 'The river flooded the mill', importance: 3, data: { type: 'relationship', playerId: 'p:1' } })
  await first.close()

  const second = await boot()
  t.equal(second.vectorIndex.size(), 2, 'the persisted index is loaded')
  const found = await second.memories.search('w:1', 'p:1', 'the flood at the mill', 3)
  t.same(found.map((m: MemoryDoc) => m._id), [memory._id], "only p:1's memory, never another player's")
  await second.close()

  await rm(join(config.DATA_DIR, 'vector'), { recursive: true, force: true })
  const third = await boot()
  t.teardown(async () => { await third.close() })
  t.equal(third.vectorIndex.size(), 2, 'rebuilt from the stored embeddings')
  t.same((await third.memories.search('w:1', 'p:1', 'the flood at the mill', 3)).map((m: MemoryDoc) => m._id), [memory._id])
})

const mongo = storeTargets().find((s) => s.name === 'mongodb')

test('two instances on one MongoDB: each HNSW index follows the memories the other writes and deletes', { skip: mongo === undefined ? 'MONGODB_URL is not set' : false }, async (t) => {
  const { store, config: storeConfig } = await mongo!.fresh(t)
  const boot = async (dir: string): Promise<ReturnType<typeof Fastify>> => {
    const config = loadConfig({ LOG_LEVEL: 'silent', ...storeConfig, DATA_DIR: dir, ENGINE_ENABLED: 'false', VECTOR_INDEX: 'hnsw', EMBEDDING_DIMENSION: '256' })
    const fastify = Fastify({ logger: false })
    await fastify.register(fp(app), { config })
    await fastify.ready()
    t.teardown(async () => { await fastify.close() })
    return fastify
  }
  const a = await boot(join(storeConfig.DATA_DIR!, 'a'))
  const b = await boot(join(storeConfig.DATA_DIR!, 'b'))
  await b.changeFeed.ready()
  const memory = await a.memories.add({ worldId: 'w:1', playerId: 'p:1', description: 'The bell in the square cracked during the storm', importance: 6, data: { type: 'relationship', playerId: 'p:2' } })
  await waitFor('the memory written on a in b\'s index', async () => b.vectorIndex.size() === 1)
  t.same((await b.memories.search('w:1', 'p:1', 'the cracked bell', 3)).map((m: MemoryDoc) => m._id), [memory._id], 'b finds the memory a wrote')
  t.equal(a.vectorIndex.size(), 1, 'a applied its own write once')
  await a.memories.add({ worldId: 'w:1', playerId: 'p:2', description: 'Mended the bell rope', importance: 2, data: { type: 'relationship', playerId: 'p:1' } })
  await waitFor('the second memory in b\'s index', async () => b.vectorIndex.size() === 2)

  // A world's delete on another instance removes its embeddings from the store.
  await store.collection('memoryEmbeddings').deleteMany({ worldId: 'w:1' })
  await waitFor('b drops the deleted memories', async () => b.vectorIndex.size() === 0)
  t.same(await b.memories.search('w:1', 'p:1', 'the cracked bell', 3), [], 'nothing of the deleted world is found on b')
})
