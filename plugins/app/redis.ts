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
  redis.on('error', (err) => { fastify.log.warn({ err: { message: err.message } }, 'redis connection error') })
  try {
    await redis.connect()
    await redis.ping()
  } catch (err) {
    redis.disconnect()
    throw new DependencyUnavailableError(`cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`)
  }
  fastify.log.info({ redis: redactUrl(url) }, 'redis connected')
  fastify.decorate('redis', redis)
  fastify.addHook('onClose', async () => {
    const ended = new Promise((resolve) => redis.once('end', resolve))
    await redis.quit().catch(() => { redis.disconnect() })
    await ended
  })
}

export default fp(redisPlugin, { name: 'redis', fastify: '5.x' })
