// Calling a function from an HTTP route: the caller's context, and results in Convex's JSON encoding.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type, type TObject, type TSchema } from 'typebox'
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

/**
 * A REST route's body schema: the function's own arguments less those its URL carries, and no others (the
 * function refuses unknown ones), so /docs/json says exactly what the function accepts.
 */
export function argsBody (fastify: FastifyInstance, path: string, fromUrl: string[]): TSchema {
  const def = fastify.api.get(path)
  if (def === undefined) throw new Error(`argsBody: no function ${path}`)
  return Type.Omit(def.args as TObject, fromUrl, { additionalProperties: false })
}
