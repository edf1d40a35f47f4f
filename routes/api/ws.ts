// GET /api/ws: subscriptions, queries and mutations over one WebSocket (protocol in docs/API.md).
import type { FastifyPluginAsync } from 'fastify'
import type { WebSocket } from 'ws'
import { handleClientFrame, valueFrame, type WsClient } from '../../src/realtime/protocol.ts'

const ws: FastifyPluginAsync = async (fastify) => {
  fastify.route({
    method: 'GET',
    url: '/ws',
    // OpenAPI cannot describe a WebSocket; docs/API.md does.
    schema: { hide: true, tags: ['functions'], description: 'WebSocket: subscribe / unsubscribe / query / mutation frames; see docs/API.md. A plain GET answers 426.' },
    handler: async (_request, reply) => await reply.code(426).header('upgrade', 'websocket').send({
      statusCode: 426, code: 'TOWNHALL_ERR_UPGRADE_REQUIRED', error: 'Upgrade Required', message: 'this is the WebSocket endpoint: connect with a WebSocket client'
    }),
    wsHandler: (socket: WebSocket, request) => {
      const frames = fastify.metrics.websocketMessages
      const send = (data: string | Buffer): void => {
        if (socket.readyState !== socket.OPEN) return
        frames.inc({ direction: 'out' })
        socket.send(data, { binary: false })
      }
      const client: WsClient = {
        id: fastify.realtime.newClientId(),
        caller: request.caller,
        send,
        push: (updates) => { for (const update of updates) send(valueFrame(update)) },
        bufferedAmount: () => socket.bufferedAmount,
        close: (code, reason) => { socket.close(code, reason) }
      }
      const log = request.log
      socket.on('message', (raw: Buffer, isBinary: boolean) => {
        frames.inc({ direction: 'in' })
        handleClientFrame(fastify, client, raw, isBinary).catch((err: unknown) => {
          log.error({ err }, 'websocket frame failed')
        })
      })
      socket.on('close', () => { fastify.realtime.removeClient(client) })
      socket.on('error', (err) => { log.warn({ err }, 'websocket error') })
    }
  })
}

export default ws
