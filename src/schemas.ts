// Schemas shared by route modules, and the error answers every route declares (so /docs/json stays true).
import { Type, type TSchema } from 'typebox'

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String({ description: 'A stable error code, e.g. TOWNHALL_ERR_WORLD_NOT_FOUND' }),
  error: Type.String(),
  message: Type.String({ description: 'What is wrong, in words' })
}, { $id: 'ErrorResponse', description: 'Every 4xx and 5xx answer has this shape (a Convex-form call\'s function error is a 560 in Convex\'s own shape instead)' })

export const ErrorRef = Type.Ref('ErrorResponse')

/** An id in a URL path: at most 200 characters (the router allows that much, see serverOptions in src/app.ts). */
export const PathId = (description?: string): TSchema => Type.String({ minLength: 1, maxLength: 200, ...(description !== undefined ? { description } : {}) })

export interface ErrorsOptions {
  /** The route reads a JSON body: 413 (too large) and 415 (not JSON) become possible. */
  body?: boolean
  /** The route is under /api: credentials are read there, so a malformed or wrong one answers 401. */
  credentials?: boolean
  /** Further statuses the route's own logic gives, e.g. 403 or 409. */
  extra?: number[]
}

/**
 * The error statuses a route can answer besides its own: 400 (its schema), 404 (what it names is missing),
 * 429 (rate limit), 5xx (our fault, or a store or provider away); 401, 413 and 415 as its options say.
 */
export function errorResponses (opts: ErrorsOptions = {}): Record<string, TSchema> {
  const codes = [400, 404, 429, ...(opts.credentials === true ? [401, 403] : []), ...(opts.body === true ? [413, 415] : []), ...(opts.extra ?? [])]
  const out: Record<string, TSchema> = {}
  for (const code of codes.sort((a, b) => a - b)) out[String(code)] = ErrorRef
  out['5xx'] = ErrorRef
  return out
}

/** OpenAPI security: anyone may call; a bearer token (or the admin key) says who is calling. */
export const optionalBearer: Array<Record<string, string[]>> = [{}, { bearer: [] }]
/** OpenAPI security: a bearer token (a player's, or the admin key) is required. */
export const requiredBearer: Array<Record<string, string[]>> = [{ bearer: [] }]

/**
 * A route schema's mark for a body that may be left out: @fastify/swagger states every body as required, and
 * plugins/external/swagger.ts states the body of a route with this mark as optional.
 */
export const BODY_OPTIONAL = 'x-body-optional'
