// Every /api route (and the WebSocket, before its upgrade) knows who is calling; a credential that cannot be
// anyone's is refused here with 401, the same way on every route.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { credentialFrom, identify, type Caller } from '../../src/api/auth.ts'
import { UnauthorizedError } from '../../src/api/errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller
  }
}

/** What a player token from auth:newPlayerToken looks like: "th_" and 24 random bytes in base64url. */
const PLAYER_TOKEN = /^th_[A-Za-z0-9_-]{32}$/

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

/**
 * Why the request's credentials cannot be anyone's (undefined when absent or plausible): an Authorization that
 * is not "Bearer <token>" or "Convex <key>", an x-admin-key that is not the admin key, or a bearer (or ?token=)
 * that is neither the admin key nor shaped like a player token.
 */
export function credentialProblem (headers: Record<string, string | string[] | undefined>, adminKey: string | undefined, query?: unknown): string | undefined {
  const isAdmin = (value: string): boolean => adminKey !== undefined && timingSafeEqual(digest(value), digest(adminKey))
  const plausible = (value: string): boolean => PLAYER_TOKEN.test(value) || isAdmin(value)
  const auth = headers.authorization
  if (auth !== undefined) {
    const match = typeof auth === 'string' ? /^(?:Bearer|Convex)\s+(\S+)$/i.exec(auth.trim()) : null
    if (match === null) return 'Authorization must be "Bearer <token>" (a player token from auth:newPlayerToken, or the admin key)'
    if (!plausible(match[1])) {
      return adminKey === undefined
        ? 'this token is not a player token (from auth:newPlayerToken); admin functions are disabled (ADMIN_API_KEY is not set)'
        : 'this token is neither a player token (from auth:newPlayerToken) nor the admin key'
    }
  }
  const adminHeader = headers['x-admin-key']
  if (adminHeader !== undefined && (typeof adminHeader !== 'string' || !isAdmin(adminHeader))) {
    return adminKey === undefined ? 'x-admin-key was sent, but admin functions are disabled (ADMIN_API_KEY is not set)' : 'x-admin-key is not the admin key'
  }
  const token = (query as { token?: unknown } | undefined)?.token
  if (typeof token === 'string' && token !== '' && !plausible(token)) return '?token= is neither a player token (from auth:newPlayerToken) nor the admin key'
  return undefined
}

export default async function apiHooks (fastify: FastifyInstance): Promise<void> {
  fastify.decorateRequest('caller', null as never)
  fastify.addHook('onRequest', async (request) => {
    const problem = credentialProblem(request.headers, fastify.config.ADMIN_API_KEY, request.query)
    if (problem !== undefined) throw new UnauthorizedError(problem)
    request.caller = identify(credentialFrom(request.headers, request.query), fastify.config.ADMIN_API_KEY)
  })
}
