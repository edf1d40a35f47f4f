// A typed client for townhall's HTTP and WebSocket API (Node or browser); values decoded from Convex's JSON
// encoding (bytes as Uint8Array). The tests use it.
import type { ArgsOf, PathsOfKind, ResultOf } from '../api/types.ts'
import { jsonToConvex } from '../api/convexJson.ts'

export type { ArgsOf, FunctionPath, ResultOf } from '../api/types.ts'

export class TownhallError extends Error {
  readonly statusCode: number
  readonly code: string
  constructor (statusCode: number, code: string, message: string) {
    super(message)
    this.name = 'TownhallError'
    this.statusCode = statusCode
    this.code = code
  }
}

/** The part of the WebSocket API the client needs (the browser's WebSocket or the `ws` package). */
export interface SocketLike {
  readyState: number
  send: (data: string) => void
  close: (code?: number, reason?: string) => void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number, reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
}
export type SocketFactory = (url: string) => SocketLike

export interface ClientOptions {
  baseUrl: string
  token?: string
  fetch?: typeof fetch
  socket?: SocketFactory
}

export class TownhallClient {
  readonly baseUrl: string
  token: string | undefined
  readonly #fetch: typeof fetch
  readonly #socket: SocketFactory | undefined

  constructor (options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.token = options.token
    this.#fetch = options.fetch ?? fetch
    this.#socket = options.socket
  }

  async #call (kind: 'query' | 'mutation' | 'action', path: string, args: unknown): Promise<unknown> {
    const response = await this.#fetch(`${this.baseUrl}/api/${kind}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ path, args })
    })
    const body = await response.json() as { value?: unknown, statusCode?: number, code?: string, message?: string }
    if (!response.ok) throw new TownhallError(response.status, body.code ?? 'UNKNOWN', body.message ?? response.statusText)
    return jsonToConvex(body.value)
  }

  async query<P extends PathsOfKind<'query'>> (path: P, args: ArgsOf<P>): Promise<ResultOf<P>> {
    return await this.#call('query', path, args) as ResultOf<P>
  }

  async mutation<P extends PathsOfKind<'mutation'>> (path: P, args: ArgsOf<P>): Promise<ResultOf<P>> {
    return await this.#call('mutation', path, args) as ResultOf<P>
  }

  async action<P extends PathsOfKind<'action'>> (path: P, args: ArgsOf<P>): Promise<ResultOf<P>> {
    return await this.#call('action', path, args) as ResultOf<P>
  }

  /** Opens the WebSocket (with this client's token) and resolves once it is open. */
  async connect (): Promise<TownhallSocket> {
    if (this.#socket === undefined) throw new Error('no WebSocket factory: pass options.socket')
    const url = `${this.baseUrl.replace(/^http/, 'ws')}/api/ws${this.token !== undefined ? `?token=${encodeURIComponent(this.token)}` : ''}`
    const socket = this.#socket(url)
    const live = new TownhallSocket(socket)
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => { resolve() }
      socket.onerror = (event) => { reject(new Error(`WebSocket to ${url} failed: ${String((event as { message?: string }).message ?? 'error')}`)) }
    })
    return live
  }
}

interface Pending { resolve: (value: unknown) => void, reject: (err: Error) => void }

export class TownhallSocket {
  readonly #socket: SocketLike
  readonly #pending = new Map<string, Pending>()
  readonly #subscriptions = new Map<string, (value: unknown, version: number) => void>()
  readonly errors: Array<{ id?: string, statusCode: number, code: string, message: string }> = []
  #next = 0
  closed: Promise<{ code: number, reason: string }>

  constructor (socket: SocketLike) {
    this.#socket = socket
    socket.onmessage = (event) => { this.#onMessage(event.data) }
    this.closed = new Promise((resolve) => {
      socket.onclose = (event) => {
        for (const p of this.#pending.values()) p.reject(new Error(`socket closed (${event.code})`))
        this.#pending.clear()
        resolve({ code: event.code, reason: event.reason })
      }
    })
  }

  #onMessage (data: unknown): void {
    const frame = JSON.parse(String(data)) as { type: string, id?: string, value?: unknown, version?: number, statusCode?: number, code?: string, message?: string }
    if (frame.type === 'value' && frame.id !== undefined) {
      this.#subscriptions.get(frame.id)?.(jsonToConvex(frame.value), frame.version ?? 0)
    } else if (frame.type === 'result' && frame.id !== undefined) {
      this.#pending.get(frame.id)?.resolve(jsonToConvex(frame.value))
      this.#pending.delete(frame.id)
    } else if (frame.type === 'error') {
      const error = { id: frame.id, statusCode: frame.statusCode ?? 400, code: frame.code ?? 'UNKNOWN', message: frame.message ?? '' }
      this.errors.push(error)
      const pending = frame.id === undefined ? undefined : this.#pending.get(frame.id)
      if (pending !== undefined) {
        pending.reject(new TownhallError(error.statusCode, error.code, error.message))
        this.#pending.delete(frame.id!)
      }
    } else if (frame.type === 'pong') {
      this.#pending.get('__ping')?.resolve(null)
      this.#pending.delete('__ping')
    }
  }

  /** Live value of a query: called with the current value, then with each new one. Returns unsubscribe. */
  subscribe<P extends PathsOfKind<'query'>> (path: P, args: ArgsOf<P>, onValue: (value: ResultOf<P>, version: number) => void): () => void {
    const id = `s${++this.#next}`
    this.#subscriptions.set(id, onValue as (value: unknown, version: number) => void)
    this.#socket.send(JSON.stringify({ type: 'subscribe', id, path, args }))
    return () => {
      this.#subscriptions.delete(id)
      if (this.#socket.readyState === 1) this.#socket.send(JSON.stringify({ type: 'unsubscribe', id }))
    }
  }

  async #request (type: 'query' | 'mutation' | 'action', path: string, args: unknown): Promise<unknown> {
    const id = `r${++this.#next}`
    return await new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#socket.send(JSON.stringify({ type, id, path, args }))
    })
  }

  async query<P extends PathsOfKind<'query'>> (path: P, args: ArgsOf<P>): Promise<ResultOf<P>> {
    return await this.#request('query', path, args) as ResultOf<P>
  }

  async mutation<P extends PathsOfKind<'mutation'>> (path: P, args: ArgsOf<P>): Promise<ResultOf<P>> {
    return await this.#request('mutation', path, args) as ResultOf<P>
  }

  async ping (): Promise<void> {
    await new Promise((resolve, reject) => {
      this.#pending.set('__ping', { resolve, reject })
      this.#socket.send('{"type":"ping"}')
    })
  }

  /** Sends a raw frame (for tests of bad input). */
  sendRaw (data: string): void {
    this.#socket.send(data)
  }

  close (): void {
    this.#socket.close(1000, 'bye')
  }
}
