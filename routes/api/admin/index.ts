// /api/admin: the operator's functions (ADMIN_API_KEY).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { callFunction } from '../../../src/api/http.ts'

const ErrorRef = Type.Ref('ErrorResponse')
const errors = { 400: ErrorRef, 401: ErrorRef, 403: ErrorRef, 404: ErrorRef, 429: ErrorRef }

const admin: FastifyPluginAsyncTypebox = async (fastify) => {
  for (const verb of ['stop', 'resume', 'kick'] as const) {
    fastify.post(`/worlds/:worldId/${verb}`, {
      schema: { tags: ['admin'], description: `testing:${verb}`, security: [{ bearer: [] }], params: Type.Object({ worldId: Type.String({ minLength: 1, maxLength: 200 }) }), response: { 200: Type.Unknown(), ...errors } }
    }, async (request, reply) => await callFunction(fastify, request, reply, `testing:${verb}`, 'mutation', request.params))
  }
  fastify.post('/wipe', {
    schema: { tags: ['admin'], description: 'testing:wipe: delete all data except the embeddings cache', security: [{ bearer: [] }], body: Type.Object({ confirm: Type.Literal(true) }), response: { 200: Type.Unknown(), ...errors } }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'testing:wipe', 'action', request.body))
}

export default admin
