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
  // Streams open as subscriptions need them; each subscription's first read waits for its tables' streams.
  hub.start()
  fastify.decorate('realtime', hub)
  fastify.addHook('preClose', async () => {
    await hub.close()
  })
}

export default fp(realtimePlugin, { name: 'realtime', dependencies: ['api', 'change-feed', 'presence'], fastify: '5.x' })
