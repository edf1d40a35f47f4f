// Convex mutations answered once across instances. A client that loses its connection sends its unconfirmed
// mutations again when it reconnects, to this instance or to another one behind the load balancer. A record
// in the store, claimed before the mutation runs and holding its response after, lets whichever instance hears
// the repeat answer it instead of running it a second time.
import { isDuplicateKeyError } from '../store/errors.ts'
import type { Collection, StoredFields, Store } from '../store/types.ts'

/** `_id` is `<sessionId>:<requestId>`: the claim is the insert, so two instances cannot both run one mutation. */
export interface MutationRecord extends StoredFields {
  [key: string]: unknown
  sessionId: string
  requestId: number
  /** 'running' from the claim until the response is stored. */
  state: 'running' | 'done'
  /** The MutationResponse message as it was sent (JSON text). */
  response?: string
}

export interface MutationLogOptions {
  now?: () => number
  /** How long a repeat waits for the instance that runs the mutation to store its response (default 10 s). */
  waitMs?: number
  pollMs?: number
  /** Records older than this are dropped (default 1 hour: clients resend within seconds to minutes). */
  keepMs?: number
}

/** What a claim found: run the mutation and then call `finish`, or answer with what another run stored. */
export type MutationClaim =
  | { run: true }
  | { run: false, response: string }
  /** A run that never stored its response (its instance died mid-run): the mutation may or may not have applied. */
  | { run: false, response: null }

const PRUNE_EVERY_MS = 60_000

export class MutationLog {
  readonly #store: Store
  readonly #o: Required<MutationLogOptions>
  #lastPrune = 0

  constructor (store: Store, options: MutationLogOptions = {}) {
    this.#store = store
    this.#o = { now: Date.now, waitMs: 10_000, pollMs: 100, keepMs: 3600_000, ...options }
  }

  get #records (): Collection<MutationRecord> {
    return this.#store.collection<MutationRecord>('convexMutations')
  }

  /** Claims one (session, request id) for this caller, or returns the answer of the run that claimed it. */
  async claim (sessionId: string, requestId: number): Promise<MutationClaim> {
    await this.#prune()
    const _id = `${sessionId}:${requestId}`
    try {
      await this.#records.insertOne({ _id, _creationTime: this.#o.now(), sessionId, requestId, state: 'running' })
      return { run: true }
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err
    }
    const deadline = performance.now() + this.#o.waitMs
    for (;;) {
      const record = await this.#records.findOne({ _id })
      // Pruned between the insert and this read: a repeat over an hour late; it ran, its answer is gone.
      if (record === null || (record.state === 'running' && performance.now() >= deadline)) return { run: false, response: null }
      if (record.state === 'done' && record.response !== undefined) return { run: false, response: record.response }
      await new Promise((resolve) => setTimeout(resolve, this.#o.pollMs))
    }
  }

  /** Stores the response of a claimed mutation for repeats to find. */
  async finish (sessionId: string, requestId: number, response: string): Promise<void> {
    await this.#records.updateOne({ _id: `${sessionId}:${requestId}` }, { $set: { state: 'done', response } })
  }

  async #prune (): Promise<void> {
    const now = this.#o.now()
    if (now - this.#lastPrune < PRUNE_EVERY_MS) return
    this.#lastPrune = now
    await this.#records.deleteMany({ _creationTime: { $lt: now - this.#o.keepMs } })
  }
}
