// The change feed: inserts, updates and deletes of the store, for subscriptions. Closed before the store.
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
  fastify.addHook('preClose', async () => {
    await feed.close()
  })
}

export default fp(changeFeedPlugin, { name: 'change-feed', dependencies: ['store'], fastify: '5.x' })
