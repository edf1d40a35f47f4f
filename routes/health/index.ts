import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const Health = Type.Object({
  status: Type.Literal('ok'),
  uptimeSeconds: Type.Number()
})

const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    schema: {
      tags: ['operations'],
      description: 'Liveness: the process is up and serving requests. Does not touch the store.',
      response: { 200: Health }
    }
  }, async () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()) }))
}

export default health
