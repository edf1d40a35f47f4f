// Presence: who watches which world. With REDIS_URL the counts fan out over Redis pub/sub (this plugin owns
// the subscriber connection); without it, one instance knows its own viewers.
import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Presence, type PresenceMessage } from '../../src/realtime/presence.ts'
import { closeRedis } from './redis.ts'

declare module 'fastify' {
  interface FastifyInstance {
    presence: Presence
  }
}

const CHANNEL = 'townhall:presence'
const REPUBLISH_MS = 10_000

async function presencePlugin (fastify: FastifyInstance): Promise<void> {
  const { redis } = fastify
  const log = fastify.log.child({ plugin: 'presence' })
  const presence = new Presence({
    instanceId: randomUUID(),
    publish: redis === null
      ? undefined
      : (message) => { redis.publish(CHANNEL, JSON.stringify(message)).catch((err: unknown) => { log.warn({ err }, 'presence publish failed') }) },
    // Late-bound: the realtime hub is created after this plugin.
    onChange: (worldId) => { fastify.realtime?.invalidate('world:presence', (args) => (args as { worldId: string }).worldId === worldId) }
  })
  fastify.decorate('presence', presence)
  if (redis === null) return
  const subscriber = redis.duplicate()
  // Without a listener ioredis prints every failed reconnect to stderr; one warning per outage is enough.
  let reported = false
  subscriber.on('error', (err: Error) => {
    if (!reported) log.warn({ err: { message: err.message } }, 'presence subscriber lost Redis; reconnecting')
    reported = true
  })
  subscriber.on('ready', () => { reported = false })
  subscriber.on('message', (_channel: string, text: string) => {
    try {
      presence.receive(JSON.parse(text) as PresenceMessage)
    } catch (err) {
      log.warn({ err }, 'ignoring a malformed presence message')
    }
  })
  await subscriber.subscribe(CHANNEL)
  const timer = setInterval(() => { presence.republish() }, REPUBLISH_MS)
  timer.unref()
  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    await closeRedis(subscriber)
  })
}

export default fp(presencePlugin, { name: 'presence', dependencies: ['redis'], fastify: '5.x' })
