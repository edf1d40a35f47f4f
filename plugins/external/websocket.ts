import websocket from '@fastify/websocket'
import type { FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'

export const autoConfig = {
  // Frames over 1 MiB are refused by the socket itself (close 1009); the connections close with the app.
  options: { maxPayload: 1 << 20 },
  // A client breaking the protocol (oversize or malformed frames) is the client's problem, not a server error.
  errorHandler (error: Error & { code?: string }, socket: WebSocket, request: FastifyRequest) {
    if (error.code?.startsWith('WS_ERR_') === true) request.log.warn({ err: { code: error.code, message: error.message } }, 'websocket client broke the protocol')
    else request.log.error({ err: error }, 'websocket handler failed')
    socket.terminate()
  }
}

/** WebSocket support for /api/ws (https://github.com/fastify/fastify-websocket). */
export default websocket
