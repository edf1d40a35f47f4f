// A listening app and typed clients over real HTTP and WebSocket connections.
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import { TownhallClient, type SocketLike, type TownhallSocket } from '../../src/client/index.ts'
import { buildApp } from './app.ts'
import type { StoreTarget, Teardownable } from './stores.ts'

export const ADMIN_KEY = 'test-admin-key-0123456789'

export const wsFactory = (url: string): SocketLike => new WebSocket(url) as unknown as SocketLike

export async function listeningApp (t: Teardownable, target: StoreTarget, env: Record<string, string> = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = await buildApp(t, target, { ADMIN_API_KEY: ADMIN_KEY, ...env })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { app, url: `http://127.0.0.1:${port}` }
}

export function client (url: string, token?: string): TownhallClient {
  return new TownhallClient({ baseUrl: url, token, socket: wsFactory })
}

export async function socket (t: Teardownable, c: TownhallClient): Promise<TownhallSocket> {
  const s = await c.connect()
  t.teardown(() => { s.close() })
  return s
}

/** Resolves with the first value a predicate accepts from a stream of subscription values. */
export function nextValue<T> (subscribe: (on: (value: T) => void) => () => void, accept: (value: T) => boolean, timeoutMs = 20_000, what = 'a subscription value'): Promise<T> {
  return new Promise((resolve, reject) => {
    // Settled once: two values accepted before the unsubscribe runs must not unsubscribe twice (the convex
    // client's unsubscribe throws the second time).
    let settled = false
    let stop = (): void => {}
    const timer = setTimeout(() => {
      if (settled) return
      settled = true
      stop()
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
    }, timeoutMs)
    stop = subscribe((value) => {
      if (settled || !accept(value)) return
      settled = true
      clearTimeout(timer)
      setImmediate(() => { stop() })
      resolve(value)
    })
  })
}
