// Calling a function from an HTTP route: the caller's context, and JSON-safe results.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { FunctionDef, FunctionKind } from './registry.ts'

/** Binary results travel as base64 over HTTP (and as binary frames over the WebSocket). */
export function httpValue (def: FunctionDef, value: unknown): unknown {
  if (def.binary === true && value !== null && typeof value === 'object') {
    const { data, ...rest } = value as { data: Uint8Array }
    return { ...rest, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') }
  }
  return value
}

/** Runs one function for a REST route, with the same checks as every other way in; the body is the value as JSON. */
export async function callFunction (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply, path: string, kind: FunctionKind, args: unknown): Promise<FastifyReply> {
  const ctx = fastify.functionContext(request.caller)
  const resolved = fastify.api.resolve(path, kind, args, ctx)
  const value = httpValue(resolved.def, await resolved.def.handler(ctx, resolved.args as never))
  // Serialised here: a bare string or null result must still be a JSON body.
  return await reply.type('application/json; charset=utf-8').send(JSON.stringify(value ?? null))
}
