// The root plugin: external plugins, then our resources, then routes; one error handler and one 404 handler.
import { STATUS_CODES } from 'node:http'
import { join } from 'node:path'
import autoload from '@fastify/autoload'
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyInstance } from 'fastify'
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

export default async function app (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  fastify.decorate('config', opts.config)
  fastify.addSchema(ErrorResponse)
  // Routes validate with TypeBox itself, without type coercion: "true" is not true, as in every other way in.
  fastify.setValidatorCompiler(TypeBoxValidatorCompiler)
  // Every answer names its request, so a client can quote the id that the log lines carry.
  fastify.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })

  // Handlers first: a route takes the error handler in force when it is registered.
  fastify.setErrorHandler((err: FastifyError, request, reply) => {
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
