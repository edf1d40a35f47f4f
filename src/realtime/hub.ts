// Live subscriptions: one computation per distinct (function, args[, caller]), re-run when the change feed
// reports a change that can affect it, coalesced and versioned. The value is encoded once (Convex's JSON
// encoding) for every subscriber of every protocol; each client gets all of its changed queries of one
// change as one batch (one Transition in the Convex protocol). Slow clients are skipped ahead to the newest
// value; a client whose buffer stays over the hard limit is closed. The hub has the feed watch a table only
// while a subscription reads it: an instance that no one watches opens no change stream.
import { createHash } from 'node:crypto'
import { channel } from 'node:diagnostics_channel'
import type { Caller } from '../api/auth.ts'
import type { FunctionContext, FunctionDef, FunctionRegistry } from '../api/registry.ts'
import { convexToJson } from '../api/convexJson.ts'
import type { ChangeEvent, ChangeFeed } from '../store/types.ts'
import type { CollectionName } from '../store/collections.ts'

/** A query failure as clients are told it (4xx messages as they are; 5xx hidden). */
export interface QueryError { statusCode: number, code: string, message: string }

/** One subscription's new state: its value as encoded JSON bytes, or its error. */
export type HubUpdate =
  | { subId: string, version: number, ok: true, json: Buffer }
  | { subId: string, version: number, ok: false, error: QueryError }

export interface HubClient {
  readonly id: number
  caller: Caller
  /** The updates of one change (or one drain), to send as one message where the protocol can. */
  push: (updates: HubUpdate[]) => void
  bufferedAmount: () => number
  close: (code: number, reason: string) => void
}

interface Member { client: HubClient, subId: string, sentVersion: number, pending: boolean, joining: boolean }

interface Group {
  key: string
  def: FunctionDef
  args: unknown
  caller: Caller
  members: Map<string, Member>
  version: number
  value: unknown
  json: Buffer | null
  error: QueryError | null
  hash: string
  dirty: boolean
  computing: Promise<void> | null
  /** Order of the read behind the current value, and of the latest read (a read that found no change counts). */
  valueSeq: number
  readSeq: number
  /** The read that subscribers joining now wait for (see #joinRead). */
  joinRead: Promise<void> | null
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
/** Clients sent to between two turns of the event loop when one change fans out. */
const DELIVERY_SLICE = 64

/** What `townhall.realtime.delivery` publishes after each fan-out (for tracing and benchmarks). */
export interface DeliveryMessage {
  /** The queries whose new values went out: path, arguments, version and value (the hub's own: read-only). */
  queries: Array<{ path: string, args: unknown, version: number, value: unknown }>
  /** How many clients were sent to. */
  clients: number
  /** Date.now() when the first and the last client was sent to. */
  startedAt: number
  endedAt: number
}
/** Published after every fan-out that sent to at least one client; costs nothing while nobody subscribes. */
export const deliveryChannel = channel('townhall.realtime.delivery')

export function queryError (err: unknown): QueryError {
  const e = err as { statusCode?: unknown, code?: unknown, message?: unknown }
  const statusCode = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500
  if (statusCode === 500) return { statusCode, code: 'TOWNHALL_ERR_INTERNAL', message: 'Something went wrong on our side; the error has been logged.' }
  return { statusCode, code: typeof e.code === 'string' ? e.code : 'TOWNHALL_ERR_BAD_REQUEST', message: String(e.message) }
}

const groupKey = (path: string, args: unknown, caller: Caller | null): string =>
  `${path}|${JSON.stringify(args)}${caller !== null ? `|${JSON.stringify(caller)}` : ''}`

export class RealtimeHub {
  readonly #o: Required<Omit<HubOptions, 'registry' | 'feed' | 'context' | 'log' | 'watchers'>> & Pick<HubOptions, 'registry' | 'feed' | 'context' | 'log' | 'watchers'>
  readonly #groups = new Map<string, Group>()
  readonly #byClient = new Map<number, Map<string, Group>>()
  /** The feed subscription of each table that some group reads, and how many groups read it. */
  readonly #tables = new Map<CollectionName, { groups: number, unsubscribe: () => void }>()
  #flushTimer: NodeJS.Timeout | null = null
  #drainTimer: NodeJS.Timeout | null = null
  #closed = false
  #lastClientId = 0
  #reads = 0

  constructor (options: HubOptions) {
    this.#o = { coalesceMs: 5, softLimitBytes: 1 << 20, hardLimitBytes: 16 << 20, ...options }
  }

  start (): void {
    this.#drainTimer = setInterval(() => { this.#drain() }, 100)
    this.#drainTimer.unref()
  }

  /** Ids for hub clients of every protocol, unique in this process. */
  newClientId (): number {
    return ++this.#lastClientId
  }

  get stats (): { groups: number, subscriptions: number, clients: number } {
    let subscriptions = 0
    for (const g of this.#groups.values()) subscriptions += g.members.size
    return { groups: this.#groups.size, subscriptions, clients: this.#byClient.size }
  }

  /**
   * Subscribes and resolves with the current value, for the caller to send (so that several subscriptions
   * can go out together). Throws a 4xx error for a bad call, or the query's own error.
   */
  async subscribe (client: HubClient, subId: string, path: unknown, args: unknown): Promise<HubUpdate & { ok: true }> {
    const ctx = this.#o.context(client.caller)
    const resolved = this.#o.registry.resolve(path, 'query', args, ctx)
    // Reads started before this subscription: a value from one of them may lack a write the change feed has not
    // reported yet (the feed lags the store by a poll), one another query has already shown.
    const before = this.#reads
    this.unsubscribe(client, subId)
    const key = groupKey(resolved.def.path, resolved.args, resolved.def.perCaller === true ? client.caller : null)
    let group = this.#groups.get(key)
    if (group === undefined) {
      group = { key, def: resolved.def, args: resolved.args, caller: client.caller, members: new Map(), version: 0, value: undefined, json: null, error: null, hash: '', dirty: true, computing: null, valueSeq: 0, readSeq: 0, joinRead: null }
      this.#groups.set(key, group)
      this.#watch(group.def.tables ?? [])
    }
    const member: Member = { client, subId, sentVersion: 0, pending: false, joining: true }
    group.members.set(`${client.id}:${subId}`, member)
    let subs = this.#byClient.get(client.id)
    if (subs === undefined) this.#byClient.set(client.id, subs = new Map())
    subs.set(subId, group)
    if (group.def.path === WATCHED) this.#o.watchers?.join((group.args as { worldId: string }).worldId, client.id)
    // The tables' streams are open before the first read: no change after the value is missed.
    await this.#o.feed.ready()
    // The first value is read after this subscription began, so it holds every write committed before it.
    if (group.version === 0) await this.#refresh([group])
    while (group.readSeq <= before) await (group.joinRead ??= this.#joinRead(group))
    // A new value for a client that already watches its companion: the companion is read after it first.
    const companion = this.#companionFor(client, group)
    if (companion !== undefined && companion.readSeq < group.valueSeq) {
      companion.dirty = true
      await this.#refresh([companion])
    }
    member.joining = false
    if (group.json === null) {
      const error = group.error
      this.unsubscribe(client, subId)
      throw Object.assign(new Error(error?.message ?? 'query failed'), error)
    }
    member.sentVersion = group.version
    return { subId, version: group.version, ok: true, json: group.json }
  }

  unsubscribe (client: HubClient, subId: string): void {
    const group = this.#byClient.get(client.id)?.get(subId)
    if (group === undefined) return
    this.#byClient.get(client.id)!.delete(subId)
    group.members.delete(`${client.id}:${subId}`)
    if (group.def.path === WATCHED && ![...this.#byClient.get(client.id)!.values()].some((g) => g.key === group.key)) {
      this.#o.watchers?.leave((group.args as { worldId: string }).worldId, client.id)
    }
    if (group.members.size === 0 && this.#groups.get(group.key) === group) {
      this.#groups.delete(group.key)
      this.#unwatch(group.def.tables ?? [])
    }
  }

  /** Tables whose changes the hub hears now (for tests and metrics). */
  get tables (): CollectionName[] {
    return [...this.#tables.keys()]
  }

  #watch (tables: readonly CollectionName[]): void {
    for (const table of tables) {
      const entry = this.#tables.get(table)
      if (entry !== undefined) entry.groups++
      else this.#tables.set(table, { groups: 1, unsubscribe: this.#o.feed.subscribe([table], (event) => { this.#onChange(event) }) })
    }
  }

  #unwatch (tables: readonly CollectionName[]): void {
    for (const table of tables) {
      const entry = this.#tables.get(table)
      if (entry === undefined) continue
      if (--entry.groups > 0) continue
      entry.unsubscribe()
      this.#tables.delete(table)
    }
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
    if (any) this.#schedule()
  }

  #onChange (event: ChangeEvent): void {
    let any = false
    for (const group of this.#groups.values()) {
      if (group.dirty || !(group.def.tables ?? []).includes(event.collection)) continue
      if (group.def.affectedBy !== undefined && !group.def.affectedBy(event, group.args as never)) continue
      group.dirty = true
      any = true
    }
    if (any) this.#schedule()
  }

  #schedule (): void {
    if (this.#flushTimer !== null || this.#closed) return
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null
      const dirty = [...this.#groups.values()].filter((g) => g.dirty && g.computing === null)
      if (dirty.length > 0) {
        this.#refresh(dirty).catch((err: unknown) => { this.#o.log.warn({ err }, 'subscription refresh failed') })
      }
    }, this.#o.coalesceMs)
  }

  /**
   * A read for subscribers that joined a group whose value was read before they came: those that join within
   * the coalescing window share it (a storm of joins costs a read per window, not one per join). A read under
   * way may have begun before them: it is waited for, then the group is read again.
   */
  async #joinRead (group: Group): Promise<void> {
    try {
      await new Promise((resolve) => setTimeout(resolve, this.#o.coalesceMs))
      if (group.computing !== null) await group.computing
      // A read begun since then began after these subscribers too: #refresh joins it (dirty would read again).
      if (group.computing === null) group.dirty = true
      await this.#refresh([group])
    } finally {
      group.joinRead = null
    }
  }

  /** Recomputes groups, then their companions, then sends each client its changes as one batch. */
  async #refresh (groups: Group[]): Promise<void> {
    const companionOf = (g: Group): Group | undefined => g.def.companion === undefined ? undefined : this.#groups.get(groupKey(g.def.companion.path, g.args, null))
    // A companion is always read after the queries it accompanies, even when a change of its own made it dirty.
    const companions = new Set<Group>(groups.map(companionOf).filter((c): c is Group => c !== undefined && groups.includes(c)))
    const first = groups.filter((g) => !companions.has(g))
    const before = new Map(first.map((g) => [g, { version: g.version, value: g.value }]))
    await Promise.all(first.map(async (g) => { await this.#compute(g) }))
    for (const g of first) {
      const other = companionOf(g)
      const was = before.get(g)!
      if (other === undefined || g.version === was.version || g.error !== null) continue
      // A client that watches both would have the new value held until the companion is read after it (see #send):
      // read it now, in this refresh, rather than in another one later.
      if (g.def.companion!.when(was.value, g.value) || this.#watchedTogether(g, other)) companions.add(other)
    }
    await Promise.all([...companions].map(async (c) => {
      // A computation already under way may have read before the queries above: let it finish, then read again.
      while (c.computing !== null) await c.computing
      c.dirty = true
      await this.#compute(c)
    }))
    await this.#deliver([...first, ...companions])
  }

  /** Recomputes one group; computations of a group never overlap, so versions only grow. */
  async #compute (group: Group): Promise<void> {
    if (group.computing !== null) return await group.computing
    group.dirty = false
    const seq = ++this.#reads
    group.computing = (async () => {
      try {
        const value = await group.def.handler(this.#o.context(group.caller), group.args as never)
        group.readSeq = seq
        const json = Buffer.from(JSON.stringify(convexToJson(value ?? null)))
        const hash = createHash('sha1').update(json).digest('hex')
        if (hash !== group.hash || group.json === null) {
          group.hash = hash
          group.version++
          group.valueSeq = seq
          group.value = value
          group.json = json
          group.error = null
        }
      } catch (err) {
        group.readSeq = seq
        const error = queryError(err)
        if (error.statusCode === 500) this.#o.log.warn({ err, path: group.def.path }, 'subscription query failed')
        const hash = `error:${error.code}:${error.message}`
        if (hash !== group.hash) {
          group.hash = hash
          group.version++
          group.value = undefined
          group.json = null
          group.error = error
        }
      }
    })().finally(() => { group.computing = null })
    await group.computing
    // A change that arrived while computing is picked up by the next flush.
    if (group.dirty) this.#schedule()
  }

  #update (group: Group, member: Member): HubUpdate {
    member.pending = false
    member.sentVersion = group.version
    return group.json !== null
      ? { subId: member.subId, version: group.version, ok: true, json: group.json }
      : { subId: member.subId, version: group.version, ok: false, error: group.error! }
  }

  /**
   * Sends every member of these groups what it has not seen yet: one batch per client, in slices of clients
   * with a turn of the event loop between them, so a mutation arriving during a big fan-out waits one slice.
   */
  async #deliver (groups: Group[]): Promise<void> {
    const batches = new Map<number, { client: HubClient, members: Array<[Group, Member]> }>()
    for (const group of groups) {
      for (const member of group.members.values()) {
        if (member.joining || member.sentVersion >= group.version) continue
        let batch = batches.get(member.client.id)
        if (batch === undefined) batches.set(member.client.id, batch = { client: member.client, members: [] })
        batch.members.push([group, member])
      }
    }
    // Held-back updates of these clients go out with this batch (see #send).
    for (const batch of batches.values()) {
      for (const [subId, group] of this.#byClient.get(batch.client.id) ?? []) {
        const member = group.members.get(`${batch.client.id}:${subId}`)
        if (member !== undefined && member.pending && member.sentVersion < group.version && !batch.members.some(([, m]) => m === member)) batch.members.push([group, member])
      }
    }
    let sent = 0
    /** The groups whose values went out (held-back ones included), for the delivery channel. */
    const delivered = new Set<Group>()
    const startedAt = Date.now()
    let tried = 0
    for (const { client, members } of batches.values()) {
      if (tried > 0 && tried % DELIVERY_SLICE === 0) await new Promise((resolve) => setImmediate(resolve))
      tried++
      // A newer refresh may have reached this client while we yielded: send only what it still lacks.
      const unseen = members.filter(([group, member]) => member.sentVersion < group.version && group.members.get(`${member.client.id}:${member.subId}`) === member)
      if (unseen.length > 0 && this.#send(client, unseen, delivered)) sent++
    }
    if (sent > 0 && deliveryChannel.hasSubscribers) {
      const queries = [...delivered].map((g) => ({ path: g.def.path, args: g.args, version: g.version, value: g.value }))
      deliveryChannel.publish({ queries, clients: sent, startedAt, endedAt: Date.now() } satisfies DeliveryMessage)
    }
  }

  /** Sends what of `members` is ready (adding their groups to `sentGroups`); false when nothing went out. */
  #send (client: HubClient, members: Array<[Group, Member]>, sentGroups?: Set<Group>): boolean {
    const buffered = client.bufferedAmount()
    if (buffered > this.#o.hardLimitBytes) {
      client.close(1013, 'too slow: the send buffer is over its limit')
      return false
    }
    if (buffered > this.#o.softLimitBytes) {
      // Skip ahead: this client gets the newest values once its buffer drains, never a backlog.
      for (const [, member] of members) member.pending = true
      return false
    }
    // A query whose companion this client also watches waits until the companion has been read after it:
    // the client never holds a world whose players its descriptions do not know yet.
    const ready: Array<[Group, Member]> = []
    let held = false
    for (const [group, member] of members) {
      const companion = this.#companionFor(client, group)
      if (companion !== undefined && companion.readSeq < group.valueSeq) {
        member.pending = true
        companion.dirty = true
        held = true
      } else ready.push([group, member])
    }
    if (held) this.#schedule()
    if (ready.length === 0) return false
    client.push(ready.map(([group, member]) => this.#update(group, member)))
    if (sentGroups !== undefined) for (const [group] of ready) sentGroups.add(group)
    return true
  }

  /** Whether some client watches both the group and its companion. */
  #watchedTogether (group: Group, companion: Group): boolean {
    for (const member of companion.members.values()) {
      for (const g of this.#byClient.get(member.client.id)?.values() ?? []) if (g === group) return true
    }
    return false
  }

  /** The companion group of `group` when this client watches it too. */
  #companionFor (client: HubClient, group: Group): Group | undefined {
    const path = group.def.companion?.path
    if (path === undefined) return undefined
    const companion = this.#groups.get(groupKey(path, group.args, null))
    if (companion === undefined) return undefined
    for (const g of this.#byClient.get(client.id)?.values() ?? []) if (g === companion) return companion
    return undefined
  }

  #drain (): void {
    const batches = new Map<number, { client: HubClient, members: Array<[Group, Member]> }>()
    for (const group of this.#groups.values()) {
      for (const member of group.members.values()) {
        if (!member.pending || member.sentVersion >= group.version) continue
        let batch = batches.get(member.client.id)
        if (batch === undefined) batches.set(member.client.id, batch = { client: member.client, members: [] })
        batch.members.push([group, member])
      }
    }
    for (const { client, members } of batches.values()) this.#send(client, members)
  }

  async close (): Promise<void> {
    this.#closed = true
    for (const { unsubscribe } of this.#tables.values()) unsubscribe()
    this.#tables.clear()
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer)
    if (this.#drainTimer !== null) clearInterval(this.#drainTimer)
    await Promise.allSettled([...this.#groups.values()].map(async (g) => await g.computing))
    this.#groups.clear()
    this.#byClient.clear()
  }
}
