// The change feed: inserts, updates and deletes of the store, for subscriptions. Closed after its readers, before the store.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { ChangeFeed } from '../../src/store/types.ts'

declare module 'fastify' {
  interface FastifyInstance {
    changeFeed: ChangeFeed
  }
}

async function changeFeedPlugin (fastify: FastifyInstance): Promise<void> {
  const feed = await fastify.store.openChangeFeed()
  fastify.decorate('changeFeed', feed)
  // Closed after the plugins that read it (the realtime hub, the engine's supervisor) have stopped in preClose,
  // and before the store: a close of its streams never delays an instance's handoff of its worlds.
  fastify.addHook('onClose', async () => {
    await feed.close()
  })
}

export default fp(changeFeedPlugin, { name: 'change-feed', dependencies: ['store'], fastify: '5.x' })
