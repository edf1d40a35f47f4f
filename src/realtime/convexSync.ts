// Convex's sync protocol, server side, for one WebSocket: the messages ConvexClient and ConvexReactClient send
// (Connect, ModifyQuerySet, Mutation, Action, Authenticate, Event) and the ones they expect (Transition,
// MutationResponse, ActionResponse, AuthError, FatalError, Ping). Queries run on the shared realtime hub;
// every change a connection sees goes out as one Transition whose versions chain exactly.
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { identify, tokenIdentifier, type Caller } from '../api/auth.ts'
import type { FunctionContext, FunctionRegistry } from '../api/registry.ts'
import { convexToJson, jsonToConvex } from '../api/convexJson.ts'
import type { HubClient, HubUpdate, RealtimeHub } from './hub.ts'
import { queryError } from './hub.ts'
import { frameAllowed } from './frameLimit.ts'
import type { MutationLog } from './mutationLog.ts'

const U64 = Type.String({ maxLength: 16, description: 'a u64 as base64 of its 8 little-endian bytes' })
const QueryId = Type.Integer({ minimum: 0, maximum: 2 ** 31 })
const UdfPath = Type.String({ minLength: 1, maxLength: 200 })
const ArgsArray = Type.Array(Type.Unknown(), { minItems: 1, maxItems: 1 })
const Optional = <T extends Parameters<typeof Type.Optional>[0]>(t: T): ReturnType<typeof Type.Optional<T>> => Type.Optional(t)

const Connect = Type.Object({
  type: Type.Literal('Connect'),
  sessionId: Type.String({ minLength: 8, maxLength: 128 }),
  connectionCount: Type.Integer({ minimum: 0 }),
  lastCloseReason: Type.Union([Type.String({ maxLength: 1000 }), Type.Null()]),
  maxObservedTimestamp: Optional(Type.Union([U64, Type.Null()])),
  clientTs: Optional(Type.Number())
})
const Add = Type.Object({
  type: Type.Literal('Add'),
  queryId: QueryId,
  udfPath: UdfPath,
  args: ArgsArray,
  journal: Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
  componentPath: Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()]))
})
const Remove = Type.Object({ type: Type.Literal('Remove'), queryId: QueryId })
const ModifyQuerySet = Type.Object({
  type: Type.Literal('ModifyQuerySet'),
  baseVersion: Type.Integer({ minimum: 0 }),
  newVersion: Type.Integer({ minimum: 1 }),
  modifications: Type.Array(Type.Union([Add, Remove]), { maxItems: 1000 })
})
const Request = (type: 'Mutation' | 'Action') => Type.Object({
  type: Type.Literal(type),
  requestId: Type.Integer({ minimum: 0 }),
  udfPath: UdfPath,
  args: ArgsArray,
  componentPath: Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()]))
})
const Mutation = Request('Mutation')
const Action = Request('Action')
const Authenticate = Type.Object({
  type: Type.Literal('Authenticate'),
  baseVersion: Type.Integer({ minimum: 0 }),
  tokenType: Type.Union([Type.Literal('User'), Type.Literal('Admin'), Type.Literal('None')]),
  value: Optional(Type.String({ maxLength: 8192 })),
  impersonating: Optional(Type.Unknown())
})
const Event = Type.Object({ type: Type.Literal('Event'), eventType: Type.String({ maxLength: 200 }), event: Type.Unknown() })

const checks = {
  Connect: Compile(Connect),
  ModifyQuerySet: Compile(ModifyQuerySet),
  Mutation: Compile(Mutation),
  Action: Compile(Action),
  Authenticate: Compile(Authenticate),
  Event: Compile(Event)
}
type MessageType = keyof typeof checks

/** Messages a session holds before it stops reading (a client that floods is told so and closed). */
const MAX_QUEUED_MESSAGES = 1000
const PING_EVERY_MS = 15_000

export function encodeTs (ts: bigint): string {
  const bytes = Buffer.alloc(8)
  bytes.writeBigUInt64LE(ts)
  return bytes.toString('base64')
}

export function decodeTs (encoded: string): bigint | null {
  const bytes = Buffer.from(encoded, 'base64')
  return bytes.length === 8 ? bytes.readBigUInt64LE() : null
}

export interface SyncSocket {
  send: (data: string | Buffer) => void
  bufferedAmount: () => number
  close: (code: number, reason: string) => void
}

export interface SyncDeps {
  hub: RealtimeHub
  registry: FunctionRegistry
  context: (caller: Caller) => FunctionContext
  adminKey: string | undefined
  mutations: MutationLog
  log: { warn: (obj: object, msg: string) => void, error: (obj: object, msg: string) => void, debug: (obj: object, msg: string) => void }
  now?: () => number
}

/** Where the client's view is: the version its next Transition must start from. */
interface Version { querySet: number, identity: number, ts: bigint }

/** A protocol error: the client is told with FatalError and the socket closes. */
class FatalProtocolError extends Error {}

function errorMessage (err: { code: string, message: string }): string {
  return `${err.code}: ${err.message}`
}

/** The per-session identity of a client that sends no credentials: two sessions are two humans. */
export function sessionCaller (sessionId: string): Caller {
  return { kind: 'player', tokenIdentifier: tokenIdentifier(`convex-session:${sessionId}`) }
}

export class ConvexSyncSession {
  readonly #deps: SyncDeps
  readonly #socket: SyncSocket
  readonly #client: HubClient
  readonly #queries = new Map<number, { udfPath: string, args: unknown }>()
  /** Every new connection's view starts at zero; its timestamps start above what the client has seen. */
  #version: Version = { querySet: 0, identity: 0, ts: 0n }
  #floorTs = 0n
  #sessionId: string | null = null
  #sessionIdentity: Caller = { kind: 'anonymous' }
  #queue: Promise<void> = Promise.resolve()
  #queued = 0
  #closed = false
  #ping: NodeJS.Timeout | null = null

  constructor (deps: SyncDeps, socket: SyncSocket) {
    this.#deps = deps
    this.#socket = socket
    this.#client = {
      id: deps.hub.newClientId(),
      caller: { kind: 'anonymous' },
      push: (updates) => { this.#transition(updates.map((u) => this.#modification(u)).filter((m) => m !== null), {}) },
      bufferedAmount: socket.bufferedAmount,
      close: (code, reason) => { this.#shut(code, reason) }
    }
    this.#armPing()
  }

  get caller (): Caller {
    return this.#client.caller
  }

  /** Takes one text frame; messages are handled strictly in order. */
  receive (raw: string): void {
    if (this.#closed) return
    if (this.#queued >= MAX_QUEUED_MESSAGES) {
      this.#fatal(`more than ${MAX_QUEUED_MESSAGES} messages waiting: slow down`)
      return
    }
    this.#queued++
    this.#queue = this.#queue.then(async () => {
      // Over the frame rate, messages wait their turn instead of failing: the protocol has no retry.
      while (!frameAllowed(this) && !this.#closed) await new Promise((resolve) => setTimeout(resolve, 20))
      if (this.#closed) return
      await this.#handle(raw)
    }).catch((err: unknown) => {
      if (err instanceof FatalProtocolError) this.#fatal(err.message)
      else {
        this.#deps.log.error({ err }, 'convex sync message failed')
        this.#fatal('Server Error')
      }
    }).finally(() => { this.#queued-- })
  }

  /** The socket closed: drop every subscription. */
  closed (): void {
    this.#closed = true
    if (this.#ping !== null) clearTimeout(this.#ping)
    this.#deps.hub.removeClient(this.#client)
  }

  async #handle (raw: string): Promise<void> {
    let message: unknown
    try {
      message = JSON.parse(raw)
    } catch {
      throw new FatalProtocolError('message is not valid JSON')
    }
    const type = (message as { type?: unknown } | null)?.type
    if (typeof type !== 'string' || !(type in checks)) {
      throw new FatalProtocolError(`unknown message type ${JSON.stringify(type)?.slice(0, 100) ?? 'undefined'}: expected Connect, ModifyQuerySet, Mutation, Action, Authenticate or Event`)
    }
    const check = checks[type as MessageType]
    if (!check.Check(message)) {
      const [error] = check.Errors(message)
      throw new FatalProtocolError(`bad ${type} message: ${error === undefined ? 'invalid' : `${error.instancePath === '' ? 'message' : error.instancePath} ${error.message}`}`)
    }
    if (type !== 'Connect' && this.#sessionId === null) throw new FatalProtocolError(`${type} before Connect: a session starts with Connect`)
    switch (type as MessageType) {
      case 'Connect': return this.#connect(message as Static<typeof Connect>)
      case 'ModifyQuerySet': return await this.#modifyQuerySet(message as Static<typeof ModifyQuerySet>)
      case 'Mutation': return await this.#mutation(message as Static<typeof Mutation>)
      case 'Action': return await this.#action(message as Static<typeof Action>)
      case 'Authenticate': return await this.#authenticate(message as Static<typeof Authenticate>)
      case 'Event': this.#deps.log.debug({ eventType: (message as Static<typeof Event>).eventType }, 'convex client event')
    }
  }

  #connect (message: Static<typeof Connect>): void {
    if (this.#sessionId !== null) throw new FatalProtocolError('Connect sent twice on one connection')
    this.#sessionId = message.sessionId
    this.#sessionIdentity = sessionCaller(message.sessionId)
    this.#client.caller = this.#sessionIdentity
    // A client that saw later timestamps elsewhere (another instance) never sees time go back.
    const observed = typeof message.maxObservedTimestamp === 'string' ? decodeTs(message.maxObservedTimestamp) : null
    if (observed !== null) this.#floorTs = observed
  }

  #nextTs (): bigint {
    const now = BigInt(Math.floor((this.#deps.now ?? Date.now)())) * 1_000_000n
    const floor = this.#version.ts > this.#floorTs ? this.#version.ts : this.#floorTs
    return now > floor ? now : floor + 1n
  }

  async #modifyQuerySet (message: Static<typeof ModifyQuerySet>): Promise<void> {
    if (message.baseVersion !== this.#version.querySet) {
      throw new FatalProtocolError(`ModifyQuerySet from query set version ${message.baseVersion}, but the server is at ${this.#version.querySet}`)
    }
    if (message.newVersion <= message.baseVersion) throw new FatalProtocolError('ModifyQuerySet: newVersion must be greater than baseVersion')
    const modifications: Buffer[][] = []
    for (const mod of message.modifications) {
      if (mod.type === 'Remove') {
        if (!this.#queries.delete(mod.queryId)) throw new FatalProtocolError(`Remove of query ${mod.queryId}, which is not in the query set`)
        this.#deps.hub.unsubscribe(this.#client, String(mod.queryId))
        modifications.push([Buffer.from(`{"type":"QueryRemoved","queryId":${mod.queryId}}`)])
        continue
      }
      if (this.#queries.has(mod.queryId)) throw new FatalProtocolError(`Add of query ${mod.queryId}, which is already in the query set`)
      this.#queries.set(mod.queryId, { udfPath: mod.udfPath, args: mod.args[0] })
      modifications.push(await this.#subscribe(mod.queryId, mod.udfPath, mod.args[0]))
    }
    this.#transition(modifications, { querySet: message.newVersion })
  }

  /** Subscribes one query: QueryUpdated with its value, or QueryFailed with why. */
  async #subscribe (queryId: number, udfPath: string, encodedArgs: unknown): Promise<Buffer[]> {
    try {
      const args = jsonToConvex(encodedArgs)
      const update = await this.#deps.hub.subscribe(this.#client, String(queryId), udfPath, args)
      return this.#modification(update)!
    } catch (err) {
      const error = queryError(err)
      if (error.statusCode === 500) this.#deps.log.error({ err, udfPath }, 'convex sync query failed')
      return this.#modification({ subId: String(queryId), version: 0, ok: false, error })!
    }
  }

  /** One modification as the pieces of its JSON: the shared value bytes are copied once, into the frame. */
  #modification (update: HubUpdate): Buffer[] | null {
    const queryId = Number(update.subId)
    if (!this.#queries.has(queryId)) return null
    if (update.ok) return [Buffer.from(`{"type":"QueryUpdated","queryId":${queryId},"value":`), update.json, QUERY_UPDATED_TAIL]
    const data = update.error.statusCode === 500 ? '' : `,"errorData":${JSON.stringify(update.error.message)}`
    return [Buffer.from(`{"type":"QueryFailed","queryId":${queryId},"errorMessage":${JSON.stringify(errorMessage(update.error))}${data},"logLines":[],"journal":null}`)]
  }

  /** Sends one Transition from the client's current version; the next one starts where this one ends. */
  #transition (modifications: Buffer[][], change: { querySet?: number, identity?: number, ts?: bigint }): void {
    if (this.#closed) return
    if (modifications.length === 0 && change.querySet === undefined && change.identity === undefined && change.ts === undefined) return
    const start = this.#version
    const end: Version = { querySet: change.querySet ?? start.querySet, identity: change.identity ?? start.identity, ts: change.ts ?? this.#nextTs() }
    this.#version = end
    const version = (v: Version): string => `{"querySet":${v.querySet},"identity":${v.identity},"ts":"${encodeTs(v.ts)}"}`
    const parts: Buffer[] = [Buffer.from(`{"type":"Transition","startVersion":${version(start)},"endVersion":${version(end)},"modifications":[`)]
    modifications.forEach((m, i) => {
      if (i > 0) parts.push(COMMA)
      parts.push(...m)
    })
    parts.push(TRANSITION_TAIL)
    this.#send(Buffer.concat(parts))
  }

  async #call (kind: 'mutation' | 'action', udfPath: string, encodedArgs: unknown): Promise<{ ok: true, value: unknown } | { ok: false, error: { statusCode: number, code: string, message: string } }> {
    try {
      const args = jsonToConvex(encodedArgs)
      const ctx = this.#deps.context(this.#client.caller)
      const resolved = this.#deps.registry.resolve(udfPath, kind, args, ctx)
      return { ok: true, value: await resolved.def.handler(ctx, resolved.args as never) }
    } catch (err) {
      const error = queryError(err)
      if (error.statusCode === 500) this.#deps.log.error({ err, udfPath }, `convex sync ${kind} failed`)
      return { ok: false, error }
    }
  }

  async #mutation (message: Static<typeof Mutation>): Promise<void> {
    const claim = await this.#deps.mutations.claim(this.#sessionId!, message.requestId)
    if (!claim.run) {
      // A reconnecting client sends its unconfirmed mutations again: answer, never run twice.
      this.#send(claim.response ?? JSON.stringify({
        type: 'MutationResponse',
        requestId: message.requestId,
        success: false,
        result: errorMessage({ code: 'TOWNHALL_ERR_MUTATION_IN_DOUBT', message: 'this mutation was started before, on an instance that stopped before it answered: it may or may not have been applied' }),
        logLines: []
      }))
      this.#transition([], {})
      return
    }
    const result = await this.#call('mutation', message.udfPath, message.args[0])
    const ts = this.#nextTs()
    const response = result.ok
      ? JSON.stringify({ type: 'MutationResponse', requestId: message.requestId, success: true, result: convexToJson(result.value ?? null), ts: encodeTs(ts), logLines: [] })
      : JSON.stringify({ type: 'MutationResponse', requestId: message.requestId, success: false, result: errorMessage(result.error), ...(result.error.statusCode === 500 ? {} : { errorData: result.error.message }), logLines: [] })
    await this.#deps.mutations.finish(this.#sessionId!, message.requestId, response)
    this.#send(response)
    // The client resolves a mutation once a Transition reaches its timestamp.
    if (result.ok) this.#transition([], { ts })
  }

  async #action (message: Static<typeof Action>): Promise<void> {
    const result = await this.#call('action', message.udfPath, message.args[0])
    this.#send(JSON.stringify(result.ok
      ? { type: 'ActionResponse', requestId: message.requestId, success: true, result: convexToJson(result.value ?? null), logLines: [] }
      : { type: 'ActionResponse', requestId: message.requestId, success: false, result: errorMessage(result.error), ...(result.error.statusCode === 500 ? {} : { errorData: result.error.message }), logLines: [] }))
  }

  async #authenticate (message: Static<typeof Authenticate>): Promise<void> {
    if (message.baseVersion !== this.#version.identity) {
      throw new FatalProtocolError(`Authenticate from identity version ${message.baseVersion}, but the server is at ${this.#version.identity}`)
    }
    let caller: Caller
    if (message.tokenType === 'None') caller = this.#sessionIdentity
    else if (message.value === undefined || message.value === '') {
      this.#authError(message.baseVersion, `${message.tokenType} authentication without a token`)
      return
    } else {
      caller = identify(message.value, this.#deps.adminKey)
      if (message.tokenType === 'Admin' && caller.kind !== 'admin') {
        this.#authError(message.baseVersion, 'that is not the admin key')
        return
      }
      if (message.tokenType === 'User' && caller.kind === 'admin') caller = { kind: 'admin' }
    }
    this.#client.caller = caller
    // Queries that depend on who asks are asked again, as the new caller; all go out with the new identity.
    const modifications: Buffer[][] = []
    this.#deps.hub.removeClient(this.#client)
    for (const [queryId, { udfPath, args }] of this.#queries) modifications.push(await this.#subscribe(queryId, udfPath, args))
    this.#transition(modifications, { identity: message.baseVersion + 1 })
  }

  #authError (baseVersion: number, error: string): void {
    this.#send(JSON.stringify({ type: 'AuthError', error, baseVersion, authUpdateAttempted: true }))
  }

  #fatal (error: string): void {
    if (this.#closed) return
    this.#send(JSON.stringify({ type: 'FatalError', error }))
    // The reason is a short constant: a close reason is limited to 123 bytes, the message said it all.
    this.#shut(1008, 'protocol error')
  }

  #shut (code: number, reason: string): void {
    if (this.#closed) return
    this.closed()
    this.#socket.close(code, reason)
  }

  #send (data: string | Buffer): void {
    if (this.#closed) return
    this.#socket.send(data)
    this.#armPing()
  }

  /** An idle connection gets a Ping well before the client's 30 s inactivity limit. */
  #armPing (): void {
    if (this.#ping !== null) clearTimeout(this.#ping)
    if (this.#closed) return
    this.#ping = setTimeout(() => { this.#send('{"type":"Ping"}') }, PING_EVERY_MS)
    this.#ping.unref()
  }
}

const COMMA = Buffer.from(',')
const TRANSITION_TAIL = Buffer.from(']}')
const QUERY_UPDATED_TAIL = Buffer.from(',"logLines":[],"journal":null}')
