// CORS (@fastify/cors) from CORS_ORIGINS, so a browser page served elsewhere (AI Town's front end on Vite's
// port) can call the API with ConvexHttpClient: its POSTs carry JSON and Authorization, so they are preflighted.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import cors from '@fastify/cors'

/** '*' for any origin, else the exact origins listed (comma-separated); unlisted origins get no CORS headers. */
export function corsOrigin (setting: string): '*' | string[] {
  const origins = setting.split(',').map((origin) => origin.trim().replace(/\/+$/, '')).filter((origin) => origin !== '')
  return origins.includes('*') ? '*' : origins
}

async function corsPlugin (fastify: FastifyInstance): Promise<void> {
  await fastify.register(cors, {
    origin: corsOrigin(fastify.config.CORS_ORIGINS),
    methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    // What ConvexHttpClient and townhall's own clients send.
    allowedHeaders: ['Authorization', 'Content-Type', 'Convex-Client', 'x-admin-key', 'x-request-id'],
    // What a client reads back: when to retry after a 429, and which request to quote in a bug report.
    exposedHeaders: ['Retry-After', 'x-request-id'],
    // Bearer tokens travel in a header, never in cookies: no credentialed requests.
    credentials: false,
    // Any OPTIONS is answered as a preflight (204), never with @fastify/cors's text/plain 400: every 4xx here has the error shape.
    strictPreflight: false,
    maxAge: 600
  })
}

export default fp(corsPlugin, { name: 'cors', fastify: '5.x' })
