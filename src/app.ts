// The root plugin: external plugins, then our resources, then routes; one error handler and one 404 handler.
import { STATUS_CODES } from 'node:http'
import { join } from 'node:path'
import autoload from '@fastify/autoload'
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from './config.ts'
import { ErrorResponse } from './schemas.ts'

export interface AppOptions {
  config: Config
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

const root = join(import.meta.dirname, '..')

/** Options for Fastify() itself, shared by src/server.ts and the tests' apps. */
export const serverOptions = {
  routerOptions: {
    // Ids in paths may have 200 characters (schemas say so); percent-encoded, that is up to 12 bytes each.
    // Longer ones get the schema's 400, not the router's bare 414.
    maxParamLength: 2400
  },
  // A JSON body's "__proto__" and "constructor.prototype" keys are dropped, not refused: no schema can rule
  // them out at every depth of a free-form value, and dropped they can pollute nothing.
  onProtoPoisoning: 'remove' as const,
  onConstructorPoisoning: 'remove' as const
}

/** A route's URL as a pattern over request paths (":id" is one segment, "*" the rest). */
function pathPattern (url: string): RegExp {
  const source = url.replace(/\/+$/, '').split('/').map((segment) =>
    segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('/')
  return new RegExp(`^${source}/?$`)
}

export default async function app (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  fastify.decorate('config', opts.config)
  fastify.addSchema(ErrorResponse)
  // Routes validate with TypeBox itself, without type coercion: "true" is not true, as in every other way in.
  fastify.setValidatorCompiler(TypeBoxValidatorCompiler)
  // Every answer names its request, so a client can quote the id that the log lines carry.
  fastify.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })

  // Every route's path and methods, so a known path asked with another method gets 405 and Allow, not 404.
  const known: Array<{ pattern: RegExp, methods: string[] }> = []
  fastify.addHook('onRoute', (route) => {
    // The catch-all OPTIONS (CORS preflight) answers any path; it says nothing about which paths exist.
    if (route.url === '*' || route.url === '/*') return
    known.push({ pattern: pathPattern(route.url), methods: Array.isArray(route.method) ? route.method : [route.method] })
  })
  const allowedMethods = (url: string): string[] => {
    const path = url.split('?')[0]
    const methods = new Set<string>()
    for (const route of known) if (route.pattern.test(path)) for (const m of route.methods) methods.add(m)
    return [...methods].sort()
  }
  const methodNotAllowed = (request: FastifyRequest, reply: FastifyReply, allow: string[]): FastifyReply => {
    return reply.code(405).header('allow', allow.join(', ')).send({
      statusCode: 405, code: 'TOWNHALL_ERR_METHOD_NOT_ALLOWED', error: 'Method Not Allowed', message: `${request.method} is not allowed on this path; use ${allow.join(' or ')}`
    })
  }

  // `DELETE /api/admin/worlds/` matches `/:worldId` with an empty id, but it names the collection: a method the
  // collection path does not have is 405 there too, not a 400 about the empty id.
  fastify.addHook('onRequest', async (request, reply) => {
    const params = request.params as Record<string, string> | undefined
    if (params === undefined || !Object.values(params).some((v) => v === '')) return
    const allow = allowedMethods(request.url.split('?')[0]!.replace(/\/+$/, ''))
    if (allow.length > 0 && !allow.includes(request.method)) return methodNotAllowed(request, reply, allow)
  })

  // Handlers first: a route takes the error handler in force when it is registered.
  fastify.setErrorHandler((err: FastifyError, request, reply) => {
    // A method no route has (its body unparsable, say) on a known path: still 405, as the not-found handler says.
    if (request.is404) {
      const allow = allowedMethods(request.url)
      if (allow.length > 0) return methodNotAllowed(request, reply, allow)
    }
    const statusCode = err.statusCode !== undefined && err.statusCode >= 400 ? err.statusCode : 500
    if (statusCode >= 500) {
      // Internals stay in the log, with the request's context; the client gets a generic message.
      request.log.error({ err, method: request.method, url: request.url }, 'request failed')
      return reply.code(statusCode).send({
        statusCode, code: 'TOWNHALL_ERR_INTERNAL', error: 'Internal Server Error', message: 'Something went wrong on our side; the error has been logged.'
      })
    }
    request.log.info({ err: { code: err.code, message: err.message } }, 'request rejected')
    return reply.code(statusCode).send({
      statusCode, code: err.code ?? (err.validation !== undefined ? 'FST_ERR_VALIDATION' : 'TOWNHALL_ERR_BAD_REQUEST'), error: httpError(statusCode), message: err.message
    })
  })

  fastify.setNotFoundHandler((request, reply) => {
    const allow = allowedMethods(request.url)
    if (allow.length > 0) return methodNotAllowed(request, reply, allow)
    return reply.code(404).send({
      statusCode: 404, code: 'TOWNHALL_ERR_NOT_FOUND', error: 'Not Found', message: `Route ${request.method} ${request.url} not found`
    })
  })

  await fastify.register(autoload, { dir: join(root, 'plugins/external'), options: opts, forceESM: true })
  await fastify.register(autoload, { dir: join(root, 'plugins/app'), options: opts, forceESM: true })
  await fastify.register(autoload, { dir: join(root, 'routes'), options: opts, forceESM: true, autoHooks: true, cascadeHooks: true })
}

function httpError (statusCode: number): string {
  return STATUS_CODES[statusCode] ?? 'Bad Request'
}
