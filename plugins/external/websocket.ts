import websocket from '@fastify/websocket'

// Frames over 1 MiB are refused by the socket itself; the connections are closed when the app closes.
export const autoConfig = { options: { maxPayload: 1 << 20 } }

/** WebSocket support for /api/ws (https://github.com/fastify/fastify-websocket). */
export default websocket
