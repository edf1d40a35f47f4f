// GET /metrics: Prometheus text format from this instance's registry. Never rate limited (scrapers poll it);
// behind METRICS_TOKEN when that is set. The admin key is deliberately not accepted: a scraper must not
// hold a credential that can stop engines or wipe the store.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { UnauthorizedError } from '../../src/api/errors.ts'
import { credentialFrom } from '../../src/api/auth.ts'
import { ErrorRef } from '../../src/schemas.ts'

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

const metrics: FastifyPluginAsyncTypebox = async (fastify) => {
  const token = fastify.config.METRICS_TOKEN
  const expected = token === undefined ? undefined : digest(token)
  fastify.get('/', {
    config: { rateLimit: false },
    schema: {
      tags: ['operations'],
      description: 'Prometheus metrics (text format 0.0.4): HTTP, WebSocket, engine, LLM, vector search and change feed. ' +
        'Needs Authorization: Bearer <METRICS_TOKEN> when METRICS_TOKEN is set.',
      ...(expected !== undefined ? { security: [{ bearer: [] }] } : {}),
      response: {
        200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: Type.String() } } },
        ...(expected !== undefined ? { 401: ErrorRef } : {}),
        '5xx': ErrorRef
      }
    },
    onRequest: async (request) => {
      if (expected === undefined) return
      const credential = credentialFrom(request.headers)
      // Compared as digests: equal length, constant time.
      if (credential === undefined || !timingSafeEqual(digest(credential), expected)) {
        throw new UnauthorizedError('/metrics needs Authorization: Bearer <METRICS_TOKEN>')
      }
    }
  }, async (_request, reply) => {
    const { registry, render } = fastify.metrics
    return reply.type(registry.contentType).header('cache-control', 'no-store').send(await render())
  })
}

export default metrics
