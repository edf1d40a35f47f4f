// The viewer's one WebSocket to /api/ws: live subscriptions, mutations and queries (values in Convex's
// JSON encoding, bytes included), and reconnection with backoff that subscribes everything again.
import { jsonToConvex } from '../api/convexJson.ts'

export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting'

interface Subscription { path: string, args: unknown, onValue: (value: any) => void, version: number }
interface Pending { resolve: (value: any) => void, reject: (err: Error) => void }

const MIN_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 15_000

export class Connection {
  status: ConnectionStatus = 'connecting'
  private socket: WebSocket | null = null
  private token: string | null = null
  private nextId = 1
  private readonly subscriptions = new Map<string, Subscription>()
  private readonly pending = new Map<string, Pending>()
  private backoff = MIN_BACKOFF_MS
  private closed = false
  private retry: ReturnType<typeof setTimeout> | undefined

  constructor (private readonly baseUrl: string, private readonly onStatus: (status: ConnectionStatus) => void) {}

  /** Opens the socket; with a token the socket acts for that human player. */
  connect (token: string | null): void {
    this.token = token
    this.backoff = MIN_BACKOFF_MS
    clearTimeout(this.retry)
    const previous = this.socket
    if (previous !== null) {
      // Detached first, so its close event does not schedule a reconnect of its own.
      this.socket = null
      previous.close(1000, 'reconnecting with another identity')
      this.rejectPending()
    }
    this.open()
  }

  subscribe (path: string, args: unknown, onValue: (value: any) => void): () => void {
    const id = `s${this.nextId++}`
    this.subscriptions.set(id, { path, args, onValue, version: -1 })
    this.send({ type: 'subscribe', id, path, args })
    return () => {
      if (this.subscriptions.delete(id)) this.send({ type: 'unsubscribe', id })
    }
  }

  /** Closes for good (no reconnect). */
  close (): void {
    this.closed = true
    clearTimeout(this.retry)
    this.socket?.close(1000, 'viewer closed')
  }

  /** Runs a mutation; rejects with the server's message, or when the socket is down. */
  mutation (path: string, args: unknown): Promise<any> {
    const id = `m${this.nextId++}`
    return new Promise((resolve, reject) => {
      if (this.socket?.readyState !== WebSocket.OPEN) return reject(new Error('not connected'))
      this.pending.set(id, { resolve, reject })
      this.send({ type: 'mutation', id, path, args })
    })
  }

  private send (frame: unknown): void {
    // Subscriptions made while offline are sent by `open` once the socket is up.
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame))
  }

  private open (): void {
    const url = new URL('/api/ws', this.baseUrl)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    if (this.token !== null) url.searchParams.set('token', this.token)
    const socket = new WebSocket(url)
    this.socket = socket
    let opened = false

    socket.onopen = () => {
      opened = true
      this.backoff = MIN_BACKOFF_MS
      this.setStatus('connected')
      for (const [id, sub] of this.subscriptions) {
        sub.version = -1
        socket.send(JSON.stringify({ type: 'subscribe', id, path: sub.path, args: sub.args }))
      }
    }
    socket.onmessage = (event) => { this.receive(event.data) }
    socket.onerror = () => {} // a close event always follows
    socket.onclose = () => {
      if (this.socket !== socket) return
      this.socket = null
      this.rejectPending()
      if (this.closed) return
      this.setStatus('reconnecting')
      const delay = opened ? MIN_BACKOFF_MS : this.backoff
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS)
      this.retry = setTimeout(() => { this.open() }, delay * (0.75 + Math.random() * 0.5))
    }
  }

  private receive (data: string): void {
    const frame = JSON.parse(data)
    if (frame.type === 'value') {
      this.deliver(frame.id, frame.version, jsonToConvex(frame.value))
    } else if (frame.type === 'error' && frame.id !== undefined && this.subscriptions.has(frame.id)) {
      console.warn('townhall viewer:', frame.message)
    } else if (frame.type === 'result' || frame.type === 'error') {
      const pending = this.pending.get(frame.id)
      this.pending.delete(frame.id)
      if (frame.type === 'result') pending?.resolve(jsonToConvex(frame.value))
      else if (pending !== undefined) pending.reject(new Error(frame.message))
      else console.warn('townhall viewer:', frame.message)
    }
  }

  private deliver (id: string, version: number, value: unknown): void {
    const sub = this.subscriptions.get(id)
    if (sub === undefined || version < sub.version) return
    sub.version = version
    sub.onValue(value)
  }

  private rejectPending (): void {
    for (const p of this.pending.values()) p.reject(new Error('connection lost'))
    this.pending.clear()
  }

  private setStatus (status: ConnectionStatus): void {
    this.status = status
    this.onStatus(status)
  }
}
