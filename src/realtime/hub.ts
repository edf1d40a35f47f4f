// Live subscriptions: one computation per distinct (function, args[, caller]), re-run when the change feed
// reports a change that can affect it, coalesced, versioned, and sent to every subscriber. Slow clients are
// skipped ahead to the newest value; a client whose buffer stays over the hard limit is closed.
import { createHash } from 'node:crypto'
import type { Caller } from '../api/auth.ts'
import type { FunctionContext, FunctionDef, FunctionRegistry } from '../api/registry.ts'
import type { ChangeEvent, ChangeFeed } from '../store/types.ts'
import type { CollectionName } from '../store/collections.ts'

/** A frame, or a text frame in two parts: a per-client head and a body encoded once for every subscriber. */
export type OutgoingFrame = string | Buffer | readonly [string, Buffer]

export interface HubClient {
  readonly id: number
  readonly caller: Caller
  send: (data: OutgoingFrame) => void
  bufferedAmount: () => number
  close: (code: number, reason: string) => void
}

interface Member { client: HubClient, subId: string, sentVersion: number, pending: boolean }

interface Group {
  key: string
  def: FunctionDef
  args: unknown
  caller: Caller
  members: Map<string, Member>
  version: number
  frame: ((subId: string) => OutgoingFrame) | null
  hash: string
  dirty: boolean
  computing: Promise<void> | null
}

export interface HubOptions {
  registry: FunctionRegistry
  feed: ChangeFeed
  context: (caller: Caller) => FunctionContext
  log: { warn: (obj: object, msg: string) => void, debug: (obj: object, msg: string) => void }
  /** Changes within this window are delivered as one update. */
  coalesceMs?: number
  /** Above this many buffered bytes a client is skipped (it gets the newest value once it drains). */
  softLimitBytes?: number
  /** Above this a client is closed (1013, try again later). */
  hardLimitBytes?: number
  /** Told when a client starts or stops watching a world's state (presence). */
  watchers?: { join: (worldId: string, clientId: number) => void, leave: (worldId: string, clientId: number) => void }
}

const WATCHED = 'world:worldState'

function encodeValueFrame (def: FunctionDef, version: number, value: unknown): (subId: string) => OutgoingFrame {
  if (def.binary === true) {
    const { data, ...meta } = value as { data: Uint8Array }
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    return (subId) => {
      const header = Buffer.from(JSON.stringify({ type: 'value', id: subId, version, ...meta }))
      const length = Buffer.alloc(4)
      length.writeUInt32BE(header.length)
      return Buffer.concat([length, header, bytes])
    }
  }
  // The value is serialised and encoded once per change, whatever the number of subscribers; each client
  // only gets its own small head: {"type":"value","id":"<its id>" + the shared ,"version":…,"value":…}.
  const body = Buffer.from(`,"version":${version},"value":${JSON.stringify(value ?? null)}}`)
  return (subId) => [`{"type":"value","id":${JSON.stringify(subId)}`, body] as const
}

export class RealtimeHub {
  readonly #o: Required<Omit<HubOptions, 'registry' | 'feed' | 'context' | 'log' | 'watchers'>> & Pick<HubOptions, 'registry' | 'feed' | 'context' | 'log' | 'watchers'>
  readonly #groups = new Map<string, Group>()
  readonly #byClient = new Map<number, Map<string, Group>>()
  #unsubscribe: (() => void) | null = null
  #flushTimer: NodeJS.Timeout | null = null
  #drainTimer: NodeJS.Timeout | null = null
  #closed = false

  constructor (options: HubOptions) {
    this.#o = { coalesceMs: 5, softLimitBytes: 1 << 20, hardLimitBytes: 16 << 20, ...options }
  }

  start (): void {
    const tables = new Set<CollectionName>()
    for (const def of this.#o.registry.list()) for (const t of def.tables ?? []) tables.add(t)
    this.#unsubscribe = this.#o.feed.subscribe([...tables], (event) => { this.#onChange(event) })
    this.#drainTimer = setInterval(() => { this.#drain() }, 100)
    this.#drainTimer.unref()
  }

  get stats (): { groups: number, subscriptions: number, clients: number } {
    let subscriptions = 0
    for (const g of this.#groups.values()) subscriptions += g.members.size
    return { groups: this.#groups.size, subscriptions, clients: this.#byClient.size }
  }

  /** Subscribes; resolves once the current value has been sent (throws a 4xx error for a bad call). */
  async subscribe (client: HubClient, subId: string, path: unknown, args: unknown): Promise<void> {
    const ctx = this.#o.context(client.caller)
    const resolved = this.#o.registry.resolve(path, 'query', args, ctx)
    this.unsubscribe(client, subId)
    const key = `${resolved.def.path}|${JSON.stringify(resolved.args)}${resolved.def.perCaller === true ? `|${JSON.stringify(client.caller)}` : ''}`
    let group = this.#groups.get(key)
    if (group === undefined) {
      group = { key, def: resolved.def, args: resolved.args, caller: client.caller, members: new Map(), version: 0, frame: null, hash: '', dirty: true, computing: null }
      this.#groups.set(key, group)
    }
    const member: Member = { client, subId, sentVersion: 0, pending: false }
    group.members.set(`${client.id}:${subId}`, member)
    let subs = this.#byClient.get(client.id)
    if (subs === undefined) this.#byClient.set(client.id, subs = new Map())
    subs.set(subId, group)
    if (group.def.path === WATCHED) this.#o.watchers?.join((group.args as { worldId: string }).worldId, client.id)
    if (group.frame === null || group.dirty) {
      try {
        await this.#compute(group)
      } catch (err) {
        this.unsubscribe(client, subId)
        throw err
      }
    }
    this.#sendTo(group, member)
  }

  unsubscribe (client: HubClient, subId: string): void {
    const group = this.#byClient.get(client.id)?.get(subId)
    if (group === undefined) return
    this.#byClient.get(client.id)!.delete(subId)
    group.members.delete(`${client.id}:${subId}`)
    if (group.def.path === WATCHED && ![...this.#byClient.get(client.id)!.values()].some((g) => g.key === group.key)) {
      this.#o.watchers?.leave((group.args as { worldId: string }).worldId, client.id)
    }
    if (group.members.size === 0) this.#groups.delete(group.key)
  }

  removeClient (client: HubClient): void {
    for (const subId of [...(this.#byClient.get(client.id)?.keys() ?? [])]) this.unsubscribe(client, subId)
    this.#byClient.delete(client.id)
  }

  /** Re-runs the subscriptions of one function (for values that are not in the store, such as presence). */
  invalidate (path: string, matches: (args: unknown) => boolean = () => true): void {
    let any = false
    for (const group of this.#groups.values()) {
      if (group.def.path !== path || !matches(group.args)) continue
      group.dirty = true
      any = true
    }
    if (any && this.#flushTimer === null && !this.#closed) {
      this.#flushTimer = setTimeout(() => { this.#flushTimer = null; this.#flush() }, this.#o.coalesceMs)
    }
  }

  #onChange (event: ChangeEvent): void {
    let any = false
    for (const group of this.#groups.values()) {
      if (group.dirty || !(group.def.tables ?? []).includes(event.collection)) continue
      if (group.def.affectedBy !== undefined && !group.def.affectedBy(event, group.args as never)) continue
      group.dirty = true
      any = true
    }
    if (any && this.#flushTimer === null && !this.#closed) {
      this.#flushTimer = setTimeout(() => { this.#flushTimer = null; this.#flush() }, this.#o.coalesceMs)
    }
  }

  #flush (): void {
    for (const group of this.#groups.values()) {
      if (!group.dirty || group.computing !== null) continue
      this.#compute(group).then(() => { this.#broadcast(group) }, (err: unknown) => {
        this.#o.log.warn({ err, path: group.def.path }, 'subscription query failed')
      })
    }
  }

  /** Recomputes one group; computations of a group never overlap, so versions only grow. */
  async #compute (group: Group): Promise<void> {
    if (group.computing !== null) return await group.computing
    group.dirty = false
    group.computing = (async () => {
      const value = await group.def.handler(this.#o.context(group.caller), group.args as never)
      const hash = group.def.binary === true
        ? createHash('sha1').update(JSON.stringify({ ...(value as object), data: undefined })).update((value as { data: Uint8Array }).data).digest('hex')
        : createHash('sha1').update(JSON.stringify(value ?? null)).digest('hex')
      if (hash !== group.hash || group.frame === null) {
        group.hash = hash
        group.version++
        group.frame = encodeValueFrame(group.def, group.version, value)
      }
    })().finally(() => { group.computing = null })
    await group.computing
    // A change that arrived while computing is picked up by the next flush.
    if (group.dirty && this.#flushTimer === null && !this.#closed) {
      this.#flushTimer = setTimeout(() => { this.#flushTimer = null; this.#flush() }, this.#o.coalesceMs)
    }
  }

  #broadcast (group: Group): void {
    for (const member of group.members.values()) this.#sendTo(group, member)
  }

  #sendTo (group: Group, member: Member): void {
    if (group.frame === null || member.sentVersion >= group.version) return
    const buffered = member.client.bufferedAmount()
    if (buffered > this.#o.hardLimitBytes) {
      member.client.close(1013, 'too slow: the send buffer is over its limit')
      return
    }
    if (buffered > this.#o.softLimitBytes) {
      // Skip ahead: this client gets the newest value once its buffer drains, never a backlog.
      member.pending = true
      return
    }
    member.pending = false
    member.sentVersion = group.version
    member.client.send(group.frame(member.subId))
  }

  #drain (): void {
    for (const group of this.#groups.values()) {
      for (const member of group.members.values()) if (member.pending) this.#sendTo(group, member)
    }
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#unsubscribe?.()
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer)
    if (this.#drainTimer !== null) clearInterval(this.#drainTimer)
    await Promise.allSettled([...this.#groups.values()].map(async (g) => await g.computing))
    this.#groups.clear()
    this.#byClient.clear()
  }
}
