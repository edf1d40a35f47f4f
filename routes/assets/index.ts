// Townhall's own assets: the default town's tileset, drawn in code on first request. Served to any
// origin, so AI Town's front end on another host can load it into its WebGL renderer.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { createHash } from 'node:crypto'
import { paintTileset } from '../../src/game/data/tileset.ts'
import { encodePng } from '../../src/game/data/png.ts'
import { TILESET_PATH } from '../../src/game/data/map.ts'
import { TOWNHALL_ASSETS } from '../../src/game/data/mapView.ts'
import { errorResponses } from '../../src/schemas.ts'

// The URL carries the tileset's version (?v=), so a day of caching never pairs an old sheet with new indices.
const CACHE_CONTROL = 'public, max-age=86400'

interface Asset { body: Buffer, etag: string }

/** True when If-None-Match (a list, maybe weak) names this ETag. */
function matches (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  return ifNoneMatch.split(',').some((tag) => { const t = tag.trim(); return t === '*' || t.replace(/^W\//, '') === etag })
}

const assets: FastifyPluginAsyncTypebox = async (fastify) => {
  let tileset: Asset | undefined
  const loadTileset = (): Asset => {
    if (tileset === undefined) {
      const { width, height, rgba } = paintTileset()
      const body = encodePng(width, height, rgba)
      tileset = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }
    }
    return tileset
  }

  fastify.get(TILESET_PATH.slice('/assets'.length), {
    schema: {
      tags: ['assets'],
      description: 'The default town\'s tileset (PNG): the image its map\'s tile indices point into, row by row, tileDim pixels per tile. ' +
        `Maps refer to it as ${TOWNHALL_ASSETS}…, made absolute on PUBLIC_URL for clients. Any origin may load it; revalidate with If-None-Match.`,
      querystring: Type.Object({ v: Type.Optional(Type.String({ maxLength: 64, description: 'The tileset version the map names; any value gets the current sheet.' })) }),
      response: {
        200: { description: 'The tileset', content: { 'image/png': { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) } } },
        304: Type.Null({ description: 'Not modified: the ETag still matches.' }),
        ...errorResponses()
      }
    }
  }, async (request, reply) => {
    const { body, etag } = loadTileset()
    reply
      .header('access-control-allow-origin', '*')
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('cache-control', CACHE_CONTROL)
      .header('etag', etag)
    if (matches(request.headers['if-none-match'], etag)) return reply.code(304).send(null)
    return reply.type('image/png').send(body)
  })
}

export default assets
