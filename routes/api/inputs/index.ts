// /api/inputs/:inputId: main:inputStatus.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { callFunction } from '../../../src/api/http.ts'

const ErrorRef = Type.Ref('ErrorResponse')

const inputs: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/:inputId', {
    schema: {
      tags: ['engine'],
      description: 'main:inputStatus: null while pending, then the input\'s return value',
      params: Type.Object({ inputId: Type.String({ minLength: 1, maxLength: 200 }) }),
      response: { 200: Type.Unknown(), 400: ErrorRef, 404: ErrorRef, 429: ErrorRef }
    }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'main:inputStatus', 'query', request.params))
}

export default inputs
