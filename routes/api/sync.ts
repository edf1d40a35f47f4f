// GET /api/:clientVersion/sync: Convex's sync protocol, for the official convex clients and AI Town's front end.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { WebSocket } from 'ws'
import { ConvexSyncSession } from '../../src/realtime/convexSync.ts'
import { MutationLog } from '../../src/realtime/mutationLog.ts'

const sync: FastifyPluginAsyncTypebox = async (fastify) => {
  // Shared through the store: a mutation a client sends again after reconnecting elsewhere is answered, not rerun.
  const mutations = new MutationLog(fastify.store)
  fastify.route({
    method: 'GET',
    url: '/:clientVersion/sync',
    schema: {
      // OpenAPI cannot describe a WebSocket; docs/API.md does. Left out of /docs/json so it lists HTTP operations only.
      hide: true,
      tags: ['functions'],
      description: 'WebSocket: Convex\'s sync protocol (ConvexClient, ConvexReactClient). See docs/API.md. A plain GET answers 426.',
      params: Type.Object({ clientVersion: Type.String({ minLength: 1, maxLength: 64, description: 'the convex client\'s version, e.g. 1.19.2' }) }),
      response: { 426: Type.Ref('ErrorResponse') }
    },
    handler: async (_request, reply) => await reply.code(426).header('upgrade', 'websocket').send({
      statusCode: 426, code: 'TOWNHALL_ERR_UPGRADE_REQUIRED', error: 'Upgrade Required', message: 'this is Convex\'s sync endpoint: connect with a convex client'
    }),
    wsHandler: (socket: WebSocket, request) => {
      const frames = fastify.metrics.websocketMessages
      const log = request.log
      const session = new ConvexSyncSession({
        hub: fastify.realtime,
        registry: fastify.api,
        context: fastify.functionContext,
        adminKey: fastify.config.ADMIN_API_KEY,
        mutations,
        log
      }, {
        send: (data) => {
          if (socket.readyState !== socket.OPEN) return
          frames.inc({ direction: 'out' })
          socket.send(data, { binary: false })
        },
        bufferedAmount: () => socket.bufferedAmount,
        close: (code, reason) => { socket.close(code, reason) }
      })
      socket.on('message', (raw: Buffer, isBinary: boolean) => {
        frames.inc({ direction: 'in' })
        session.receive(isBinary ? '\u0000binary' : raw.toString('utf8'))
      })
      socket.on('close', () => { session.closed() })
      socket.on('error', (err) => { log.warn({ err }, 'websocket error') })
    }
  })
}

export default sync
