// GET /api/ws: subscriptions, queries and mutations over one WebSocket (protocol in docs/API.md).
import type { FastifyPluginAsync } from 'fastify'
import type { WebSocket } from 'ws'
import type { HubClient } from '../../src/realtime/hub.ts'
import { handleClientFrame } from '../../src/realtime/protocol.ts'

let nextClientId = 0

const ws: FastifyPluginAsync = async (fastify) => {
  fastify.route({
    method: 'GET',
    url: '/ws',
    schema: { tags: ['functions'], description: 'WebSocket: subscribe / unsubscribe / query / mutation frames; see docs/API.md. A plain GET answers 426.' },
    handler: async (_request, reply) => await reply.code(426).header('upgrade', 'websocket').send({
      statusCode: 426, code: 'TOWNHALL_ERR_UPGRADE_REQUIRED', error: 'Upgrade Required', message: 'this is the WebSocket endpoint: connect with a WebSocket client'
    }),
    wsHandler: (socket: WebSocket, request) => {
      const frames = fastify.metrics.websocketMessages
      const client: HubClient = {
        id: ++nextClientId,
        caller: request.caller,
        send: (data) => {
          if (socket.readyState !== socket.OPEN) return
          frames.inc({ direction: 'out' })
          if (typeof data === 'string' || Buffer.isBuffer(data)) socket.send(data)
          // One write per client: its small head and the shared, already encoded body, as one text frame.
          else socket.send(Buffer.concat([Buffer.from(data[0]), data[1]]), { binary: false })
        },
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
