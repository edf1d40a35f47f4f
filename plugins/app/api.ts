// The API's function registry and the context each call runs in.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createRegistry } from '../../src/api/functions.ts'
import type { FunctionContext, FunctionRegistry } from '../../src/api/registry.ts'
import type { Caller } from '../../src/api/auth.ts'

declare module 'fastify' {
  interface FastifyInstance {
    api: FunctionRegistry
    functionContext: (caller: Caller) => FunctionContext
  }
}

async function apiPlugin (fastify: FastifyInstance): Promise<void> {
  const registry = createRegistry()
  const log = fastify.log.child({ plugin: 'api' })
  const publicUrl = (fastify.config.PUBLIC_URL ?? `http://localhost:${fastify.config.PORT}`).replace(/\/+$/, '')
  fastify.decorate('api', registry)
  fastify.decorate('functionContext', (caller: Caller): FunctionContext => ({
    store: fastify.store,
    engine: fastify.engine,
    caller,
    adminEnabled: fastify.config.ADMIN_API_KEY !== undefined,
    now: Date.now,
    publicUrl,
    viewers: (worldId) => fastify.presence.viewers(worldId),
    log
  }))
}

export default fp(apiPlugin, { name: 'api', dependencies: ['store', 'engine', 'presence'], fastify: '5.x' })
