// Optional Redis (REDIS_URL): one connection owned here. Without it, `fastify.redis` is null and one instance serves all.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { redactUrl } from '../../src/config.ts'
import { DependencyUnavailableError } from '../../src/errors.ts'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis | null
  }
}

async function redisPlugin (fastify: FastifyInstance): Promise<void> {
  const url = fastify.config.REDIS_URL
  if (url === undefined) {
    fastify.decorate('redis', null)
    return
  }
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, connectTimeout: 5000, enableOfflineQueue: true })
  // One warning per outage, not one per reconnect attempt.
  let reported = false
  redis.on('error', (err) => {
    if (!reported) fastify.log.warn({ err: { message: err.message } }, 'redis connection error; reconnecting')
    reported = true
  })
  redis.on('ready', () => {
    if (reported) fastify.log.info('redis connection is back')
    reported = false
  })
  try {
    await redis.connect()
    await redis.ping()
  } catch (err) {
    redis.disconnect()
    throw new DependencyUnavailableError(`cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`)
  }
  fastify.log.info({ redis: redactUrl(url) }, 'redis connected')
  fastify.decorate('redis', redis)
  fastify.addHook('onClose', async () => { await closeRedis(redis) })
}

/**
 * Closes a connection: politely (QUIT) when Redis answers, at once when it is down, since a QUIT queued for a
 * server that is not there would wait out the whole shutdown.
 */
export async function closeRedis (connection: Redis): Promise<void> {
  if (connection.status === 'end') return
  if (connection.status !== 'ready') {
    // Not connected (waiting to reconnect): there is no socket to wait for, and no 'end' may ever come.
    connection.disconnect()
    return
  }
  const ended = new Promise((resolve) => connection.once('end', resolve))
  await connection.quit().catch(() => { connection.disconnect() })
  await ended
}

export default fp(redisPlugin, { name: 'redis', fastify: '5.x' })
