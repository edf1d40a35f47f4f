// Convex's HTTP function API as ConvexHttpClient speaks it (POST /api/query|mutation|action|function with
// {path, format: 'convex_encoded_json', args}), beside townhall's plain {path, args} form.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type, type Static } from 'typebox'
import type { FunctionKind } from '../../src/api/registry.ts'
import { convexToJson, jsonToConvex } from '../../src/api/convexJson.ts'
import { BadCallError, UnknownFunctionError } from '../../src/api/errors.ts'
import { errorResponses, optionalBearer } from '../../src/schemas.ts'

/** ConvexHttpClient accepts a function's failure only with this status; any other non-2xx it throws as text. */
export const STATUS_FUNCTION_FAILED = 560
const CONVEX_FORMAT = 'convex_encoded_json'

const Path = Type.String({ minLength: 1, maxLength: 200, description: 'a function name such as "world:worldState"' })
const Args = Type.Record(Type.String(), Type.Unknown(), { description: 'the function\'s arguments' })
const LegacyCall = Type.Object({
  path: Path,
  args: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'the function\'s arguments as plain JSON' }))
}, { additionalProperties: false, title: 'PlainCall', description: 'townhall\'s own form: arguments as plain JSON' })
const ConvexCall = Type.Object({
  path: Path,
  format: Type.Literal(CONVEX_FORMAT),
  args: Type.Array(Args, { minItems: 1, maxItems: 1, description: 'one element: the arguments object in Convex\'s JSON encoding' })
}, { additionalProperties: false, title: 'ConvexCall', description: 'ConvexHttpClient\'s form: $bytes, $integer and $float encodings in the arguments' })
const ConvexAnyCall = Type.Object({
  path: Path,
  format: Type.Literal(CONVEX_FORMAT),
  componentPath: Type.Optional(Type.String({ maxLength: 200, description: 'a Convex component; townhall has none, so only "" is found' })),
  args: Type.Record(Type.String(), Type.Unknown(), { description: 'the arguments object in Convex\'s JSON encoding (not in an array)' })
}, { additionalProperties: false, title: 'ConvexFunctionCall', description: 'ConvexHttpClient.function\'s form, for a function of any kind' })

const Success = Type.Object({
  status: Type.Literal('success'),
  value: Type.Unknown({ description: 'the result in Convex\'s JSON encoding' }),
  logLines: Type.Array(Type.String())
}, { description: 'the function\'s result (both forms)' })
const Failure = Type.Object({
  status: Type.Literal('error'),
  errorMessage: Type.String({ description: '"<CODE>: <message>", or "Server Error"' }),
  errorData: Type.Optional(Type.String({ description: 'the message alone (ConvexError.data); absent for server errors' })),
  logLines: Type.Array(Type.String())
}, { description: 'the function failed (Convex form only; the plain form answers 4xx/5xx as ErrorResponse)' })

type Call = Static<typeof LegacyCall> | Static<typeof ConvexCall> | Static<typeof ConvexAnyCall>

/** Says plainly what is wrong with the envelope, before the schema's less readable union error. */
function checkEnvelope (body: unknown, wrapped: boolean): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadCallError('the body must be a JSON object {path, args}')
  const { path, format, args } = body as Record<string, unknown>
  const fields = format === undefined ? ['path', 'args'] : wrapped ? ['path', 'format', 'args'] : ['path', 'format', 'componentPath', 'args']
  const extra = Object.keys(body).find((k) => !fields.includes(k))
  if (extra !== undefined) throw new BadCallError(`unknown field ${JSON.stringify(extra)}: a call has ${fields.join(', ')} only`)
  if (typeof path !== 'string' || path === '') throw new BadCallError('"path" must be a function name such as "world:worldState"')
  if (format === undefined) {
    if (args !== undefined && !isObject(args)) throw new BadCallError('"args" must be an object of arguments')
    return
  }
  if (format !== CONVEX_FORMAT) throw new BadCallError(`"format" must be "${CONVEX_FORMAT}", or left out for plain JSON arguments`)
  if (wrapped && !(Array.isArray(args) && args.length === 1 && isObject(args[0]))) {
    throw new BadCallError(`with "format": "${CONVEX_FORMAT}", "args" must be an array of one arguments object`)
  }
  if (!wrapped && !isObject(args)) throw new BadCallError(`with "format": "${CONVEX_FORMAT}", "args" must be an arguments object`)
}

const isObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v)

const functions: FastifyPluginAsyncTypebox = async (fastify) => {
  async function run (request: FastifyRequest, reply: FastifyReply, kind: FunctionKind | null, body: Call): Promise<unknown> {
    const convexForm = 'format' in body
    try {
      if ('componentPath' in body && body.componentPath !== undefined && body.componentPath !== '') {
        throw new UnknownFunctionError(`${body.componentPath}/${body.path}`)
      }
      const args = !convexForm ? body.args : jsonToConvex(Array.isArray(body.args) ? body.args[0] : body.args)
      const ctx = fastify.functionContext(request.caller)
      const resolved = fastify.api.resolve(body.path, kind, args, ctx)
      const value = await resolved.def.handler(ctx, resolved.args as never)
      return { status: 'success' as const, value: convexToJson(value), logLines: [] }
    } catch (err) {
      if (!convexForm) throw err
      reply.code(STATUS_FUNCTION_FAILED)
      return failure(request, err, body.path)
    }
  }

  const schemaFor = (kind: FunctionKind | null): object => ({
    tags: ['functions'],
    description: kind === null
      ? 'Call a function of any kind by path (ConvexHttpClient.function). See docs/API.md for the functions.'
      : `Call a ${kind} by path, as ConvexHttpClient does (or with plain JSON arguments). See docs/API.md for the functions.`,
    security: optionalBearer,
    body: Type.Union([kind === null ? ConvexAnyCall : ConvexCall, LegacyCall]),
    response: {
      200: Success,
      ...errorResponses({ body: true, credentials: true }),
      [STATUS_FUNCTION_FAILED]: Failure
    }
  })

  for (const kind of ['query', 'mutation', 'action', null] as Array<FunctionKind | null>) {
    fastify.post(`/${kind ?? 'function'}`, {
      schema: schemaFor(kind),
      preValidation: async (request) => { checkEnvelope(request.body, kind !== null) }
    }, async (request, reply) => await run(request, reply, kind, request.body as Call))
  }
}

/** A function's failure as ConvexHttpClient reads it: ConvexError with .data = the message, or "Server Error". */
function failure (request: FastifyRequest, err: unknown, path: string): Static<typeof Failure> {
  const e = err as { statusCode?: unknown, code?: unknown, message?: unknown }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const message = String(e.message)
    request.log.info({ err: { code: e.code, message }, path }, 'function rejected')
    return { status: 'error', errorMessage: `${typeof e.code === 'string' ? e.code : 'TOWNHALL_ERR_BAD_REQUEST'}: ${message}`, errorData: message, logLines: [] }
  }
  request.log.error({ err, path }, 'function failed')
  return { status: 'error', errorMessage: 'Server Error', logLines: [] }
}

export default functions
