// One client frame over /api/ws: parse, check, run, answer. Every problem becomes an error frame;
// the connection and the server carry on.
import type { FastifyError, FastifyInstance } from 'fastify'
import { convexToJson } from '../api/convexJson.ts'
import type { HubClient, HubUpdate } from './hub.ts'
import { MAX_FRAMES_PER_SECOND, frameAllowed } from './frameLimit.ts'

/** A /api/ws client: the hub's view of it, plus raw sends for answers and errors. */
export interface WsClient extends HubClient { send: (data: string | Buffer) => void }

function errorFrame (id: unknown, statusCode: number, code: string, message: string): string {
  return JSON.stringify({ type: 'error', ...(typeof id === 'string' ? { id } : {}), statusCode, code, message })
}

/** /api/ws sends each update as its own frame: a small per-client head and the value encoded once for all. */
export function valueFrame (update: HubUpdate): Buffer | string {
  if (!update.ok) return errorFrame(update.subId, update.error.statusCode, update.error.code, update.error.message)
  return Buffer.concat([Buffer.from(`{"type":"value","id":${JSON.stringify(update.subId)},"version":${update.version},"value":`), update.json, CLOSE_BRACE])
}
const CLOSE_BRACE = Buffer.from('}')

export async function handleClientFrame (fastify: FastifyInstance, client: WsClient, raw: Buffer, isBinary: boolean): Promise<void> {
  if (!frameAllowed(client)) {
    client.send(errorFrame(undefined, 429, 'TOWNHALL_ERR_RATE_LIMITED', `more than ${MAX_FRAMES_PER_SECOND} frames per second: slow down`))
    return
  }
  if (isBinary) {
    client.send(errorFrame(undefined, 400, 'TOWNHALL_ERR_BAD_FRAME', 'frames must be JSON text'))
    return
  }
  let frame: unknown
  try {
    frame = JSON.parse(raw.toString('utf8'))
  } catch {
    client.send(errorFrame(undefined, 400, 'TOWNHALL_ERR_BAD_FRAME', 'frame is not valid JSON'))
    return
  }
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
    client.send(errorFrame(undefined, 400, 'TOWNHALL_ERR_BAD_FRAME', 'frame must be a JSON object with a "type"'))
    return
  }
  const { type, id, path, args } = frame as { type?: unknown, id?: unknown, path?: unknown, args?: unknown }
  if (type === 'ping') {
    client.send('{"type":"pong"}')
    return
  }
  if (typeof id !== 'string' || id === '' || id.length > 128) {
    client.send(errorFrame(undefined, 400, 'TOWNHALL_ERR_BAD_FRAME', '"id" must be a string of 1 to 128 characters'))
    return
  }
  try {
    switch (type) {
      case 'subscribe':
        client.push([await fastify.realtime.subscribe(client, id, path, args)])
        return
      case 'unsubscribe':
        fastify.realtime.unsubscribe(client, id)
        return
      case 'query':
      case 'mutation':
      case 'action': {
        const ctx = fastify.functionContext(client.caller)
        const resolved = fastify.api.resolve(path, type, args, ctx)
        const value = await resolved.def.handler(ctx, resolved.args as never)
        client.send(JSON.stringify({ type: 'result', id, value: convexToJson(value ?? null) }))
        return
      }
      default:
        client.send(errorFrame(id, 400, 'TOWNHALL_ERR_BAD_FRAME', '"type" must be subscribe, unsubscribe, query, mutation, action or ping'))
    }
  } catch (err) {
    const e = err as FastifyError
    const statusCode = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500
    if (statusCode === 500) {
      fastify.log.error({ err, type, path }, 'websocket call failed')
      client.send(errorFrame(id, 500, 'TOWNHALL_ERR_INTERNAL', 'Something went wrong on our side; the error has been logged.'))
    } else {
      client.send(errorFrame(id, statusCode, e.code ?? 'TOWNHALL_ERR_BAD_REQUEST', e.message))
    }
  }
}
