// The per-instance LLM pool: at most `maxConcurrency` calls in flight, the rest queued fairly. Conversation
// replies go before background work (remembering, reflection); within a priority the queue takes turns
// across worlds and then across the agents of a world (round-robin, not first come first served), so a
// world with 150 busy agents cannot starve one with 3.
import { LlmError } from './errors.ts'
import type { LlmPriority, ProviderKind } from './types.ts'

export const PRIORITIES: readonly LlmPriority[] = ['conversation', 'background']

/** Self-hosted Convex runs at most 16 actions at once by default: the same bound for hosted providers. */
export const HOSTED_CONCURRENCY = 16
/** Ollama (and other servers on this machine or the local network) serve a handful of requests at once. */
export const LOCAL_CONCURRENCY = 4

/** LLM_MAX_CONCURRENCY when unset: 4 for Ollama or a custom provider on a local address, else 16. */
export function defaultConcurrency (chat: { kind: ProviderKind, baseUrl: string }): number {
  if (chat.kind === 'ollama') return LOCAL_CONCURRENCY
  if (chat.kind === 'custom' && isLocalUrl(chat.baseUrl)) return LOCAL_CONCURRENCY
  return HOSTED_CONCURRENCY
}

function isLocalUrl (url: string): boolean {
  let host: string
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '')
  } catch {
    return false
  }
  return host === 'localhost' || host === '::1' || host.endsWith('.local') || host === 'host.docker.internal' ||
    /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(host) || !host.includes('.')
}

export interface PoolTicket {
  /** '' for calls made for no world (start-up checks). */
  worldId: string
  agentId: string
  priority: LlmPriority
  /** Cancels the call while it waits as well as while it runs. */
  signal?: AbortSignal
}

export interface PoolOptions {
  maxConcurrency: number
  /** A call that waited longer than this in the queue is dropped unrun (its agent's operation has timed out). */
  maxWaitMs?: number
  /** Called as each queued call leaves the queue (to run, or dropped), with how long it waited. */
  onWait?: (waitMs: number, priority: LlmPriority) => void
  now?: () => number
}

interface Waiting {
  ticket: PoolTicket
  queuedAt: number
  start: () => void
  fail: (err: Error) => void
  cleanup: () => void
}

/** One priority's queue: worlds in turn, then agents in turn, each agent's calls in order. */
class FairQueue {
  // A Map keeps insertion order: the first key is whose turn it is, and a served key moves to the back.
  readonly worlds = new Map<string, Map<string, Waiting[]>>()
  size = 0

  push (w: Waiting): void {
    let agents = this.worlds.get(w.ticket.worldId)
    if (agents === undefined) {
      agents = new Map()
      this.worlds.set(w.ticket.worldId, agents)
    }
    let calls = agents.get(w.ticket.agentId)
    if (calls === undefined) {
      calls = []
      agents.set(w.ticket.agentId, calls)
    }
    calls.push(w)
    this.size++
  }

  shift (): Waiting | undefined {
    const first = this.worlds.entries().next()
    if (first.done === true) return undefined
    const [worldId, agents] = first.value
    const [agentId, calls] = agents.entries().next().value!
    const w = calls.shift()!
    this.size--
    agents.delete(agentId)
    if (calls.length > 0) agents.set(agentId, calls)
    this.worlds.delete(worldId)
    if (agents.size > 0) this.worlds.set(worldId, agents)
    return w
  }

  remove (w: Waiting): boolean {
    const agents = this.worlds.get(w.ticket.worldId)
    const calls = agents?.get(w.ticket.agentId)
    const at = calls?.indexOf(w) ?? -1
    if (at === -1) return false
    calls!.splice(at, 1)
    this.size--
    if (calls!.length === 0) agents!.delete(w.ticket.agentId)
    if (agents!.size === 0) this.worlds.delete(w.ticket.worldId)
    return true
  }
}

export interface PoolStats {
  limit: number
  inFlight: number
  queued: Record<LlmPriority, number>
  /** Worlds with at least one queued call. */
  queuedWorlds: number
}

export class LlmPool {
  readonly limit: number
  readonly #o: PoolOptions
  readonly #queues: Record<LlmPriority, FairQueue> = { conversation: new FairQueue(), background: new FairQueue() }
  readonly #now: () => number
  #inFlight = 0

  constructor (options: PoolOptions) {
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) throw new Error(`maxConcurrency must be a positive integer, got ${options.maxConcurrency}`)
    this.#o = options
    this.limit = options.maxConcurrency
    this.#now = options.now ?? performance.now.bind(performance)
  }

  get inFlight (): number { return this.#inFlight }

  stats (): PoolStats {
    const worlds = new Set<string>()
    for (const p of PRIORITIES) for (const id of this.#queues[p].worlds.keys()) worlds.add(id)
    return {
      limit: this.limit,
      inFlight: this.#inFlight,
      queued: { conversation: this.#queues.conversation.size, background: this.#queues.background.size },
      queuedWorlds: worlds.size
    }
  }

  /** Runs `call` once a slot is free and it is this ticket's turn; a queued call that is cancelled never runs. */
  async run<T> (ticket: PoolTicket, call: () => Promise<T>): Promise<T> {
    if (ticket.signal?.aborted === true) throw cancelled()
    if (this.#inFlight < this.limit && this.#queues.conversation.size + this.#queues.background.size === 0) {
      this.#inFlight++
    } else {
      await this.#wait(ticket)
    }
    try {
      return await call()
    } finally {
      this.#inFlight--
      this.#next()
    }
  }

  #wait (ticket: PoolTicket): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const queue = this.#queues[ticket.priority]
      const onAbort = (): void => {
        if (queue.remove(waiting)) {
          this.#o.onWait?.(this.#now() - waiting.queuedAt, ticket.priority)
          reject(cancelled())
        }
      }
      const waiting: Waiting = {
        ticket,
        queuedAt: this.#now(),
        start: resolve,
        fail: reject,
        cleanup: () => { ticket.signal?.removeEventListener('abort', onAbort) }
      }
      ticket.signal?.addEventListener('abort', onAbort, { once: true })
      queue.push(waiting)
    })
  }

  /** Hands free slots to the next calls in turn: conversation replies first. */
  #next (): void {
    while (this.#inFlight < this.limit) {
      const queue = this.#queues.conversation.size > 0 ? this.#queues.conversation : this.#queues.background
      const waiting = queue.shift()
      if (waiting === undefined) return
      waiting.cleanup()
      const waited = this.#now() - waiting.queuedAt
      this.#o.onWait?.(waited, waiting.ticket.priority)
      if (this.#o.maxWaitMs !== undefined && waited > this.#o.maxWaitMs) {
        waiting.fail(new LlmError('TOWNHALL_ERR_LLM_QUEUE_TIMEOUT', `dropped after waiting ${Math.round(waited)} ms for a free LLM slot (LLM_QUEUE_TIMEOUT_MS)`))
        continue
      }
      this.#inFlight++
      waiting.start()
    }
  }
}

function cancelled (): LlmError {
  return new LlmError('TOWNHALL_ERR_LLM_ABORTED', 'cancelled while waiting for a free LLM slot')
}
