// Rate limits (@fastify/rate-limit), keyed by token or IP; shared through Redis when REDIS_URL is set.
// It lives with our resources, not in external/, because it uses the redis connection.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import createError from '@fastify/error'
import { createHash } from 'node:crypto'
import { credentialFrom } from '../../src/api/auth.ts'

const RateLimitedError = createError<[string]>('TOWNHALL_ERR_RATE_LIMITED', 'Rate limit exceeded, retry in %s', 429)

export function rateLimitKey (request: FastifyRequest): string {
  const credential = credentialFrom(request.headers, request.query)
  // A hash, so the limiter's keys (in Redis too) never hold a usable token.
  return credential === undefined ? `ip:${request.ip}` : `token:${createHash('sha256').update(credential).digest('hex').slice(0, 32)}`
}

async function rateLimitPlugin (fastify: FastifyInstance): Promise<void> {
  const { config } = fastify
  await fastify.register(rateLimit, {
    global: true,
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    keyGenerator: rateLimitKey,
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after),
    ...(fastify.redis !== null ? { redis: fastify.redis, nameSpace: 'townhall-rl:' } : {}),
    // Probes are for orchestrators and must never be limited.
    allowList: (request) => request.url === '/health' || request.url === '/ready'
  })
}

export default fp(rateLimitPlugin, { name: 'rate-limit', dependencies: ['redis'], fastify: '5.x' })
