// Change streams, one per collection while a subscription needs it (and a while after the last one ends),
// reopened from the last resume token after an error.
import { Timestamp } from 'mongodb'
import type { ChangeStream, Db, Document, ResumeToken } from 'mongodb'
import type { CollectionName } from './collections.ts'
import type { ChangeEvent, ChangeFeed, ChangeListener, ChangeOperation, Doc, SubscribeOptions } from './types.ts'

export interface MongoChangeFeedOptions {
  log?: { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }
  minBackoffMs?: number
  maxBackoffMs?: number
  /**
   * How long a collection's stream stays open after its last subscription ends (default 30 s): a viewer that
   * reloads, or a client that reconnects, finds it open, and a stream no one needs costs nothing for long.
   */
  lingerMs?: number
}

const OPERATIONS = new Set<string>(['insert', 'update', 'replace', 'delete'])

/** A healthy stream answers every poll within maxAwaitTimeMS (500 ms); one silent this long is reopened. */
const STALL_MS = 10_000

/** An empty answer faster than this did not wait on the server. */
const INSTANT_MS = 0.2
/** Between two instant empty answers; a run of this many of them in a row reopens the stream. */
const INSTANT_PAUSE_MS = 10
const DEAD_AFTER_INSTANT = 50
/**
 * An empty answer well before maxAwaitTimeMS: the server asked, found nothing, and did not wait for a change
 * (mongo-java-server, the tests' MongoDB-wire server, does so, and scans its oplog for every poll: a busy loop of
 * polls from each stream took most of a core of it). Such a stream waits before its next poll, from
 * EARLY_EMPTY_PAUSE_MS doubling to EARLY_EMPTY_PAUSE_MAX_MS while nothing comes, and polls at once after a change.
 * A MongoDB server holds an empty poll for maxAwaitTimeMS, so its streams never pause.
 */
const EARLY_EMPTY_MS = 50
const EARLY_EMPTY_PAUSE_MS = 20
const EARLY_EMPTY_PAUSE_MAX_MS = 160

/**
 * A stream reopened before the server gave it any resume token starts this many seconds before the first stream
 * was ready (for clocks apart). MongoDB gives a token with the first batch, so this is for MongoDB-wire servers
 * that give one only with an event (mongo-java-server): reopening such a stream from "now" lost every change made
 * while it was down. Changes of the seconds before are delivered again; a listener takes an event as a hint.
 */
const TOKENLESS_SLACK_S = 2

class StalledError extends Error {}

/** Resolves like `promise`, or rejects when it has not settled within `ms` (a dead connection or a stuck server). */
async function withinStall<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new StalledError(`change stream silent for ${ms} ms`)) }, ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}

function toEvent (collection: CollectionName, change: Document): ChangeEvent | null {
  if (!OPERATIONS.has(change.operationType)) return null
  const doc = (change.fullDocument ?? undefined) as Doc | undefined
  // Some MongoDB-wire servers put the whole document, not {_id}, in documentKey; the full document is the better source.
  const id = doc?._id ?? change.documentKey?._id
  if (id === undefined) return null
  return { collection, op: change.operationType as ChangeOperation, id: String(id), doc }
}

class CollectionWatcher {
  readonly name: CollectionName
  readonly #db: Db
  readonly #deliver: (event: ChangeEvent) => void
  readonly #options: Required<Omit<MongoChangeFeedOptions, 'log'>> & Pick<MongoChangeFeedOptions, 'log'>
  #stream: ChangeStream | null = null
  #token: ResumeToken | null = null
  /** When the first stream was ready, while no resume token has come: the point a reopen starts from. */
  #readySince: Timestamp | null = null
  #closed = false
  #failures = 0
  healthy = false
  readonly ready: Promise<void>
  #loop: Promise<void>

  constructor (db: Db, name: CollectionName, deliver: (event: ChangeEvent) => void, options: MongoChangeFeed['options']) {
    this.#db = db
    this.name = name
    this.#deliver = deliver
    this.#options = options
    let markReady!: () => void
    this.ready = new Promise((resolve) => { markReady = resolve })
    this.#loop = this.#run(markReady)
  }

  async #run (markReady: () => void): Promise<void> {
    while (!this.#closed) {
      try {
        const options: Document = { fullDocument: 'updateLookup', maxAwaitTimeMS: 500 }
        if (this.#token !== null) options.resumeAfter = this.#token
        else if (this.#readySince !== null) options.startAtOperationTime = this.#readySince
        const stream = this.#db.collection(this.name).watch([], options)
        this.#stream = stream
        // The first tryNext opens the cursor: from here on no committed change is missed.
        let change = await withinStall(stream.tryNext(), STALL_MS)
        this.#readySince ??= new Timestamp({ t: Math.floor(Date.now() / 1000) - TOKENLESS_SLACK_S, i: 0 })
        this.healthy = true
        if (this.#failures > 0) this.#options.log?.info({ collection: this.name }, 'change stream reopened')
        this.#failures = 0
        markReady()
        let instant = 0
        let empties = 0
        while (!this.#closed) {
          if (change !== null) {
            this.#token = stream.resumeToken ?? change._id
            const event = toEvent(this.name, change)
            if (event !== null) this.#deliver(event)
          } else {
            // A cursor the server killed is closed and would answer null at once, forever: reopen it.
            if (stream.closed) throw new Error('the server closed the change stream')
            if (stream.resumeToken !== null && stream.resumeToken !== undefined) this.#token = stream.resumeToken
          }
          const polled = performance.now()
          change = await withinStall(stream.tryNext(), STALL_MS)
          const waited = performance.now() - polled
          if (change === null && waited < INSTANT_MS) {
            // An instant empty answer: a server that does not wait out maxAwaitTimeMS (some MongoDB-wire servers,
            // on a fast loopback), or a dead cursor the driver answers itself. Poll politely; only a long run of
            // them means a dead cursor: reopen instead of spinning.
            if (++instant >= DEAD_AFTER_INSTANT) throw new Error('the change stream keeps answering without asking the server')
            await new Promise((resolve) => setTimeout(resolve, INSTANT_PAUSE_MS))
          } else {
            instant = 0
            if (change !== null || waited >= EARLY_EMPTY_MS) empties = 0
            else await new Promise((resolve) => setTimeout(resolve, Math.min(EARLY_EMPTY_PAUSE_MAX_MS, EARLY_EMPTY_PAUSE_MS * 2 ** empties++)))
          }
        }
      } catch (err) {
        if (this.#closed) break
        this.healthy = false
        this.#failures++
        const delay = Math.min(this.#options.maxBackoffMs, this.#options.minBackoffMs * 2 ** (this.#failures - 1))
        this.#options.log?.warn({ err, collection: this.name, attempt: this.#failures, delayMs: delay }, 'change stream failed; reopening')
        // Closing a stalled stream may stall too: do not wait for it.
        const stale = this.#stream
        this.#stream = null
        stale?.close().catch(() => {})
        await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random() / 2)))
      }
    }
    markReady()
  }

  /** Breaks the current stream as a network error would; the watcher must reopen from its resume token. */
  async interrupt (): Promise<void> {
    await this.#stream?.close()
  }

  async close (): Promise<void> {
    this.#closed = true
    this.healthy = false
    await this.#stream?.close().catch(() => {})
    await this.#loop
  }
}

export class MongoChangeFeed implements ChangeFeed {
  readonly options: Required<Omit<MongoChangeFeedOptions, 'log'>> & Pick<MongoChangeFeedOptions, 'log'>
  readonly #db: Db
  readonly #watchers = new Map<CollectionName, CollectionWatcher>()
  readonly #listeners = new Map<CollectionName, Set<ChangeListener>>()
  /** Subscriptions that keep each collection's stream open (passive ones do not). */
  readonly #active = new Map<CollectionName, number>()
  readonly #lingering = new Map<CollectionName, NodeJS.Timeout>()
  #closed = false

  constructor (db: Db, options: MongoChangeFeedOptions) {
    this.#db = db
    this.options = { minBackoffMs: options.minBackoffMs ?? 100, maxBackoffMs: options.maxBackoffMs ?? 5000, lingerMs: options.lingerMs ?? 30_000, log: options.log }
  }

  get watching (): CollectionName[] {
    return [...this.#watchers.keys()]
  }

  get live (): boolean {
    if (this.#closed) return false
    for (const watcher of this.#watchers.values()) if (!watcher.healthy) return false
    return true
  }

  subscribe (names: readonly CollectionName[], listener: ChangeListener, options: SubscribeOptions = {}): () => void {
    const wanted = [...new Set(names)]
    // A listener of its own per subscription: the same function subscribed twice is two subscriptions.
    const own: ChangeListener = (event) => { listener(event) }
    for (const name of wanted) {
      let set = this.#listeners.get(name)
      if (set === undefined) this.#listeners.set(name, set = new Set())
      set.add(own)
      if (options.passive === true || this.#closed) continue
      this.#active.set(name, (this.#active.get(name) ?? 0) + 1)
      clearTimeout(this.#lingering.get(name))
      this.#lingering.delete(name)
      if (!this.#watchers.has(name)) {
        this.#watchers.set(name, new CollectionWatcher(this.#db, name, (event) => { this.#dispatch(event) }, this.options))
      }
    }
    let open = true
    return () => {
      if (!open) return
      open = false
      for (const name of wanted) {
        this.#listeners.get(name)?.delete(own)
        if (options.passive === true || !this.#active.has(name)) continue
        const left = this.#active.get(name)! - 1
        if (left > 0) {
          this.#active.set(name, left)
          continue
        }
        this.#active.delete(name)
        const timer = setTimeout(() => { this.#stopWatching(name) }, this.options.lingerMs)
        timer.unref()
        this.#lingering.set(name, timer)
      }
    }
  }

  #stopWatching (name: CollectionName): void {
    this.#lingering.delete(name)
    if (this.#active.has(name)) return
    const watcher = this.#watchers.get(name)
    this.#watchers.delete(name)
    watcher?.close().catch((err: unknown) => { this.options.log?.warn({ err, collection: name }, 'closing a change stream failed') })
  }

  /** Resolves once every subscribed collection's stream is open, so later writes are certain to be seen. */
  async ready (): Promise<void> {
    await Promise.all([...this.#watchers.values()].map(async (w) => { await w.ready }))
  }

  /** For tests: breaks one collection's stream as a network failure would. */
  async interrupt (name: CollectionName): Promise<void> {
    await this.#watchers.get(name)?.interrupt()
  }

  #dispatch (event: ChangeEvent): void {
    for (const listener of this.#listeners.get(event.collection) ?? []) {
      try { listener(event) } catch (err) { this.options.log?.warn({ err, collection: event.collection }, 'change listener threw') }
    }
  }

  async close (): Promise<void> {
    this.#closed = true
    for (const timer of this.#lingering.values()) clearTimeout(timer)
    this.#lingering.clear()
    await Promise.all([...this.#watchers.values()].map(async (w) => { await w.close() }))
    this.#watchers.clear()
    this.#listeners.clear()
    this.#active.clear()
  }
}
