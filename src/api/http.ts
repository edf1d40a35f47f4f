// Calling a function from an HTTP route: the caller's context, and results in Convex's JSON encoding.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { FunctionKind } from './registry.ts'
import { convexToJson } from './convexJson.ts'

/** Runs one function for a REST route, with the same checks as every other way in; the body is the value as JSON. */
export async function callFunction (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply, path: string, kind: FunctionKind, args: unknown): Promise<FastifyReply> {
  const ctx = fastify.functionContext(request.caller)
  const resolved = fastify.api.resolve(path, kind, args, ctx)
  const value = convexToJson(await resolved.def.handler(ctx, resolved.args as never) ?? null)
  // Serialised here: a bare string or null result must still be a JSON body.
  return await reply.type('application/json; charset=utf-8').send(JSON.stringify(value))
}
