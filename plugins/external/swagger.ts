// The OpenAPI document (/docs/json) and its UI (/docs).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

async function swaggerPlugin (fastify: FastifyInstance): Promise<void> {
  await fastify.register(swagger, {
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
