// /api/engines/:engineId/inputs: world:sendWorldInput.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { callFunction } from '../../../src/api/http.ts'

const ErrorRef = Type.Ref('ErrorResponse')

const engines: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/:engineId/inputs', {
    schema: {
      tags: ['engine'],
      description: 'world:sendWorldInput: moveTo, startConversation, acceptInvite, rejectInvite, leaveConversation or startTyping as your player',
      security: [{ bearer: [] }],
      params: Type.Object({ engineId: Type.String({ minLength: 1, maxLength: 200 }) }),
      body: Type.Object({ name: Type.String(), args: Type.Record(Type.String(), Type.Unknown()) }),
      response: { 200: Type.Unknown(), 400: ErrorRef, 401: ErrorRef, 403: ErrorRef, 404: ErrorRef, 429: ErrorRef }
    }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'world:sendWorldInput', 'mutation', { engineId: request.params.engineId, ...request.body }))
}

export default engines
