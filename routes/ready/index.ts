import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ErrorRef } from '../../src/schemas.ts'

const Ready = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not-ready')]),
  store: Type.Object({ kind: Type.String(), ok: Type.Boolean(), error: Type.Optional(Type.String()) }),
  changeFeed: Type.Object({ live: Type.Boolean() }),
  redis: Type.Union([Type.Literal('disabled'), Type.Literal('ready'), Type.Literal('unavailable')]),
  llm: Type.Object({
    mode: Type.Union([Type.Literal('online'), Type.Literal('offline')], { description: 'offline: no provider configured; deterministic dialogue and local embeddings' }),
    provider: Type.String(),
    chatModel: Type.String(),
    embeddingModel: Type.String(),
    dimension: Type.Integer(),
    ok: Type.Boolean(),
    problem: Type.Optional(Type.String())
  }),
  vectorIndex: Type.Object({ kind: Type.String(), vectors: Type.Integer() })
})

const PING_TIMEOUT_MS = 2000

const ready: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    schema: {
      tags: ['operations'],
      description: 'Readiness: the store answers and the change feed is live (503 while either is not); also reports the LLM mode (online or offline) and the vector index.',
      response: { 200: Ready, 429: ErrorRef, 503: Ready, '5xx': ErrorRef }
    }
  }, async (request, reply) => {
    let storeError: string | undefined
    try {
      await Promise.race([
        fastify.store.ping(),
        new Promise((_resolve, reject) => setTimeout(() => { reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)) }, PING_TIMEOUT_MS).unref())
      ])
    } catch (err) {
      storeError = (err as Error).message
      request.log.warn({ err }, 'store ping failed')
    }
    const live = fastify.changeFeed.live
    const redis = fastify.redis === null ? 'disabled' : fastify.redis.status === 'ready' ? 'ready' : 'unavailable'
    const ok = storeError === undefined && live && redis !== 'unavailable'
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ready' : 'not-ready',
      store: { kind: fastify.store.kind, ok: storeError === undefined, ...(storeError !== undefined ? { error: storeError } : {}) },
      changeFeed: { live },
      redis,
      // A failing LLM provider degrades the town (agents wait) but does not make the service unready.
      llm: fastify.llmHealth(),
      vectorIndex: { kind: fastify.vectorIndex.kind, vectors: fastify.vectorIndex.size() }
    })
  })
}

export default ready
