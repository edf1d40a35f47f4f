// Errors the service throws, each with a stable code (fastify's style: @fastify/error).
import createError from '@fastify/error'

export const DependencyUnavailableError = createError('TOWNHALL_ERR_DEPENDENCY_UNAVAILABLE', '%s', 503)
