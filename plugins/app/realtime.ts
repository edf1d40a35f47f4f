// The realtime hub: live subscriptions driven by the change feed. Closed before the feed and the store.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { RealtimeHub } from '../../src/realtime/hub.ts'

declare module 'fastify' {
  interface FastifyInstance {
    realtime: RealtimeHub
  }
}

async function realtimePlugin (fastify: FastifyInstance): Promise<void> {
  const hub = new RealtimeHub({
    registry: fastify.api,
    feed: fastify.changeFeed,
    context: fastify.functionContext,
    log: fastify.log.child({ plugin: 'realtime' }),
    watchers: fastify.presence
  })
  hub.start()
  // The app is ready only once the change streams are open: no change after start is missed.
  await fastify.changeFeed.ready()
  fastify.decorate('realtime', hub)
  fastify.addHook('preClose', async () => {
    await hub.close()
  })
}

export default fp(realtimePlugin, { name: 'realtime', dependencies: ['api', 'change-feed', 'presence'], fastify: '5.x' })
