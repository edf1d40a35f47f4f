// Every /api route (and the WebSocket, before its upgrade) knows who is calling.
import type { FastifyInstance } from 'fastify'
import { credentialFrom, identify, type Caller } from '../../src/api/auth.ts'

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller
  }
}

export default async function apiHooks (fastify: FastifyInstance): Promise<void> {
  fastify.decorateRequest('caller', null as never)
  fastify.addHook('onRequest', async (request) => {
    request.caller = identify(credentialFrom(request.headers, request.query), fastify.config.ADMIN_API_KEY)
  })
}
