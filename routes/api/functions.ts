// Convex-style calls: POST /api/query|mutation|action with {path, args}, so a Convex HTTP client can switch URLs.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { FunctionKind } from '../../src/api/registry.ts'
import { convexToJson } from '../../src/api/convexJson.ts'

const Call = Type.Object({
  path: Type.String({ minLength: 1, maxLength: 200, description: 'a function name such as "world:worldState"' }),
  args: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'the function\'s arguments' }))
}, { additionalProperties: false })
const Success = Type.Object({ status: Type.Literal('success'), value: Type.Unknown() })
const ErrorRef = Type.Ref('ErrorResponse')

const convex: FastifyPluginAsyncTypebox = async (fastify) => {
  for (const kind of ['query', 'mutation', 'action'] as FunctionKind[]) {
    fastify.post(`/${kind}`, {
      schema: {
        tags: ['functions'],
        description: `Call a ${kind} by path, Convex style. See docs/API.md for the functions.`,
        security: [{ bearer: [] }],
        body: Call,
        response: { 200: Success, 400: ErrorRef, 401: ErrorRef, 403: ErrorRef, 404: ErrorRef, 429: ErrorRef }
      }
    }, async (request) => {
      const ctx = fastify.functionContext(request.caller)
      const resolved = fastify.api.resolve(request.body.path, kind, request.body.args, ctx)
      const value = await resolved.def.handler(ctx, resolved.args as never)
      return { status: 'success' as const, value: convexToJson(value ?? null) }
    })
  }
}

export default convex
