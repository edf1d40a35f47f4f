// /api/inputs/:inputId: main:inputStatus.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { callFunction } from '../../../src/api/http.ts'
import { PathId, errorResponses, optionalBearer } from '../../../src/schemas.ts'

const inputs: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/:inputId', {
    schema: {
      tags: ['engine'],
      description: 'main:inputStatus: null while pending, then the input\'s return value',
      security: optionalBearer,
      params: Type.Object({ inputId: PathId() }),
      response: { 200: Type.Unknown(), ...errorResponses({ credentials: true }) }
    }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'main:inputStatus', 'query', request.params))
}

export default inputs
