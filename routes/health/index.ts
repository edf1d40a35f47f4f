import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ErrorRef } from '../../src/schemas.ts'

const Health = Type.Object({
  status: Type.Literal('ok'),
  uptimeSeconds: Type.Number(),
  instanceId: Type.String({ description: 'this instance: its engine leases and its heartbeat in `instances` carry this id' })
})

const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    schema: {
      tags: ['operations'],
      description: 'Liveness: the process is up and serving requests. Does not touch the store.',
      response: { 200: Health, 429: ErrorRef, '5xx': ErrorRef }
    }
  }, async () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()), instanceId: fastify.engine.instanceId }))
}

export default health
