// The OpenAPI document (/docs/json) and its UI (/docs).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { BODY_OPTIONAL } from '../../src/schemas.ts'

/** Drops the mark, and states the body of a route that carries it as optional. */
function optionalBodies ({ openapiObject }: { openapiObject: Record<string, unknown> }): Record<string, unknown> {
  for (const item of Object.values((openapiObject.paths ?? {}) as Record<string, Record<string, Record<string, unknown>>>)) {
    for (const operation of Object.values(item)) {
      if (operation === null || typeof operation !== 'object' || !(BODY_OPTIONAL in operation)) continue
      delete operation[BODY_OPTIONAL]
      const body = operation.requestBody as { required?: boolean } | undefined
      if (body !== undefined) body.required = false
    }
  }
  return openapiObject
}

async function swaggerPlugin (fastify: FastifyInstance): Promise<void> {
  await fastify.register(swagger, {
    transformObject: (documents) => ('openapiObject' in documents ? optionalBodies(documents as { openapiObject: Record<string, unknown> }) : documents.swaggerObject) as never,
    openapi: {
      info: {
        title: 'townhall',
        description: 'AI Town\'s functions over HTTP and WebSocket. See docs/API.md for the WebSocket protocol.',
        version: '0.1.0'
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'a player token from world:joinWorld, or the ADMIN_API_KEY' }
        }
      },
      tags: [
        { name: 'functions', description: 'Convex-style calls of any function by path' },
        { name: 'worlds', description: 'worlds, their state, map and players' },
        { name: 'engine', description: 'inputs to a world\'s engine' },
        { name: 'messages', description: 'conversation messages' },
        { name: 'admin', description: 'operator functions (ADMIN_API_KEY)' },
        { name: 'operations', description: 'health and readiness' }
      ]
    }
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
}

export default fp(swaggerPlugin, { name: 'swagger', fastify: '5.x' })
