// /api/engines/:engineId/inputs: world:sendWorldInput.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { argsBody, callFunction } from '../../../src/api/http.ts'
import { PathId, errorResponses, requiredBearer } from '../../../src/schemas.ts'

const engines: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/:engineId/inputs', {
    schema: {
      tags: ['engine'],
      description: 'world:sendWorldInput: moveTo, startConversation, acceptInvite, rejectInvite, leaveConversation or startTyping as your player',
      security: requiredBearer,
      params: Type.Object({ engineId: PathId() }),
      body: argsBody(fastify, 'world:sendWorldInput', ['engineId']),
      response: { 200: Type.Unknown(), ...errorResponses({ body: true, credentials: true, extra: [409] }) }
    }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'world:sendWorldInput', 'mutation', { engineId: request.params.engineId, ...(request.body as Record<string, unknown>) }))
}

export default engines
