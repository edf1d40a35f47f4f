// /api/admin: the operator's functions (ADMIN_API_KEY).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { callFunction } from '../../../src/api/http.ts'
import { AdminDisabledError, ForbiddenError, UnauthorizedError } from '../../../src/api/errors.ts'
import { validateStore } from '../../../src/transfer/validate.ts'
import { PathId, errorResponses, requiredBearer } from '../../../src/schemas.ts'

const errors = errorResponses({ credentials: true })

const admin: FastifyPluginAsyncTypebox = async (fastify) => {
  for (const verb of ['stop', 'resume', 'kick'] as const) {
    fastify.post(`/worlds/:worldId/${verb}`, {
      schema: { tags: ['admin'], description: `testing:${verb}`, security: requiredBearer, params: Type.Object({ worldId: PathId() }), response: { 200: Type.Unknown(), ...errorResponses({ body: true, credentials: true, extra: [409] }) } }
    }, async (request, reply) => await callFunction(fastify, request, reply, `testing:${verb}`, 'mutation', request.params))
  }
  fastify.post('/wipe', {
    schema: { tags: ['admin'], description: 'testing:wipe: delete all data except the embeddings cache', security: requiredBearer, body: Type.Object({ confirm: Type.Literal(true) }, { additionalProperties: false }), response: { 200: Type.Unknown(), ...errorResponses({ body: true, credentials: true }) } }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'testing:wipe', 'action', request.body))
  const Checksum = Type.Object({ documents: Type.Integer(), checksum: Type.String() })
  fastify.get('/import/report', {
    schema: {
      tags: ['admin'],
      description: 'The validate-import report for what is in the store: per collection the documents and their checksum (as `townhall import-convex` and `townhall backup` print them), and reference checks.',
      security: requiredBearer,
      response: {
        200: Type.Object({
          store: Type.String(),
          collections: Type.Record(Type.String(), Checksum),
          checks: Type.Record(Type.String(), Type.Integer()),
          problems: Type.Array(Type.Object({ collection: Type.String(), id: Type.Optional(Type.String()), message: Type.String() })),
          ok: Type.Boolean()
        }),
        ...errors
      }
    },
    // A full scan of the store: a few a minute per client at most; counted after the credential check, so a
    // caller without the key hears 401/403, not 429.
    config: { rateLimit: { max: 10, timeWindow: 60_000, hook: 'preHandler' } },
    onRequest: async (request) => {
      if (fastify.config.ADMIN_API_KEY === undefined) throw new AdminDisabledError()
      if (request.caller.kind === 'anonymous') throw new UnauthorizedError('the import report needs the admin key (Authorization: Bearer <ADMIN_API_KEY>)')
      if (request.caller.kind !== 'admin') throw new ForbiddenError('the import report is for the admin only')
    }
  }, async () => {
    return await validateStore({ store: fastify.store, dimension: fastify.config.llm.embedding.dimension })
  })
}

export default admin
