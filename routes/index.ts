// The live viewer: the HTML page at / and its browser bundle at /viewer.js.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { createHash } from 'node:crypto'
import { viewerPage } from '../src/viewer/page.ts'
import { buildViewerBundle } from '../src/viewer/bundle.ts'

const viewer: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    schema: {
      hide: true,
      tags: ['viewer'],
      description: 'The live viewer: the default world\'s map, its players and conversations, and a panel to join as a human.',
      response: { 200: Type.String() }
    }
  }, async (_request, reply) => {
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(viewerPage)
  })

  fastify.get('/viewer.js', {
    schema: {
      hide: true,
      tags: ['viewer'],
      description: 'The viewer\'s browser bundle (ES module), built with esbuild on first request.',
      response: { 200: Type.String(), 304: Type.Null() }
    }
  }, async (request, reply) => {
    const bundle = await buildViewerBundle()
    const etag = `"${createHash('sha256').update(bundle).digest('base64url').slice(0, 22)}"`
    reply.type('application/javascript; charset=utf-8').header('cache-control', 'no-cache').header('etag', etag)
    if (request.headers['if-none-match'] === etag) return reply.code(304).send(null)
    return reply.send(bundle)
  })
}

export default viewer
