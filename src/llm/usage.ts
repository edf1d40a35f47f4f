// LLM usage per world, agent, hour and model: attributed calls are summed in memory and written as $inc
// upserts to `llmUsage`, one document per (world, agent, hour, provider, model), so totals survive restarts.
import type { Doc, Store } from '../store/types.ts'
import { isDuplicateKeyError } from '../store/errors.ts'
import { callCost, type PriceTable } from './cost.ts'
import type { LlmCallRecord } from './types.ts'

export const HOUR_MS = 3_600_000

export interface UsageDoc extends Doc {
  worldId: string
  /** Start of the hour (ms since epoch, UTC). */
  hour: number
  /** The agent the calls were made for; '' when a call names only a world. */
  agentId: string
  playerId: string
  provider: string
  model: string
  calls: number
  errors: number
  promptTokens: number
  completionTokens: number
  /** Estimated at the prices in force when each call was made. */
  costUsd: number
}

type Totals = Pick<UsageDoc, 'calls' | 'errors' | 'promptTokens' | 'completionTokens' | 'costUsd'>
type Key = Pick<UsageDoc, 'worldId' | 'hour' | 'agentId' | 'playerId' | 'provider' | 'model'>

export function hourOf (ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS
}

export interface UsageLedgerOptions {
  store: Store
  prices: PriceTable
  now: () => number
  log: { warn: (obj: object, msg: string) => void }
  /** How long calls are summed before they are written (one write per key per interval). Default 0: next turn. */
  flushDelayMs?: number
  /**
   * Of the worlds in a batch, the ones whose usage is still stored (default: all). The service passes the worlds
   * that exist and are not being deleted, so a call that ends after its world's delete leaves nothing behind.
   */
  keep?: (worldIds: string[]) => Promise<Set<string>>
}

/** Tokens and cost per world and hour, as counted by this instance. */
export interface HourCount { tokens: number, costUsd: number }

/** What this instance recorded and what of it is stored, per hour: budgets add the difference to what they read. */
export interface LocalUsage {
  recorded: (worldId: string) => ReadonlyMap<number, HourCount>
  written: (worldId: string) => ReadonlyMap<number, HourCount>
}

const KEPT_HOURS = 25

function count (into: Map<string, Map<number, HourCount>>, worldId: string, hour: number, tokens: number, costUsd: number): void {
  let hours = into.get(worldId)
  if (hours === undefined) {
    hours = new Map()
    into.set(worldId, hours)
  }
  const c = hours.get(hour) ?? { tokens: 0, costUsd: 0 }
  c.tokens += tokens
  c.costUsd += costUsd
  hours.set(hour, c)
  // Only today's hours matter to a budget.
  for (const h of hours.keys()) if (h < hour - KEPT_HOURS * HOUR_MS) hours.delete(h)
}

/** Sums attributed calls and writes them in the background; one write per key at a time, bursts coalesced. */
export class UsageLedger implements LocalUsage {
  readonly #o: UsageLedgerOptions
  readonly #pending = new Map<string, { key: Key, totals: Totals }>()
  readonly #recorded = new Map<string, Map<number, HourCount>>()
  readonly #written = new Map<string, Map<number, HourCount>>()
  #draining: Promise<void> | null = null
  #wake: (() => void) | null = null
  #closed = false

  constructor (options: UsageLedgerOptions) {
    this.#o = options
  }

  /** Takes one call record; calls without a world (start-up checks) are not stored. */
  record (record: LlmCallRecord): void {
    const attribution = record.attribution
    if (attribution === undefined || this.#closed) return
    const key: Key = {
      worldId: attribution.worldId,
      hour: hourOf(this.#o.now()),
      agentId: attribution.agentId ?? '',
      playerId: attribution.playerId ?? '',
      provider: record.provider,
      model: record.model
    }
    const id = [key.worldId, key.agentId, key.hour, key.provider, key.model].join('|')
    let entry = this.#pending.get(id)
    if (entry === undefined) {
      entry = { key, totals: { calls: 0, errors: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 } }
      this.#pending.set(id, entry)
    }
    entry.totals.calls++
    if (!record.ok) entry.totals.errors++
    entry.totals.promptTokens += record.promptTokens ?? 0
    entry.totals.completionTokens += record.completionTokens ?? 0
    const cost = callCost(this.#o.prices, record)
    entry.totals.costUsd += cost
    count(this.#recorded, key.worldId, key.hour, (record.promptTokens ?? 0) + (record.completionTokens ?? 0), cost)
    this.#schedule()
  }

  recorded (worldId: string): ReadonlyMap<number, HourCount> {
    return this.#recorded.get(worldId) ?? new Map()
  }

  written (worldId: string): ReadonlyMap<number, HourCount> {
    return this.#written.get(worldId) ?? new Map()
  }

  /** Writes everything recorded so far without waiting out the delay; resolves once it is written. */
  async flush (): Promise<void> {
    while (this.#draining !== null) {
      this.#wake?.()
      await this.#draining
    }
  }

  /** Writes what is pending and takes no more records. */
  async close (): Promise<void> {
    this.#closed = true
    await this.flush()
  }

  #schedule (): void {
    if (this.#draining !== null) return
    this.#draining = this.#drain().finally(() => {
      this.#draining = null
      // A record that arrived after the last batch was taken starts the next drain.
      if (this.#pending.size > 0) this.#schedule()
    })
  }

  async #drain (): Promise<void> {
    // Waits first, so the calls of one burst (or one interval) land in one write per key.
    await new Promise<void>((resolve) => {
      const delay = this.#o.flushDelayMs ?? 0
      const timer = delay > 0 ? setTimeout(resolve, delay) : setImmediate(resolve)
      this.#wake = () => {
        if (delay > 0) clearTimeout(timer as NodeJS.Timeout)
        else clearImmediate(timer as NodeJS.Immediate)
        resolve()
      }
    })
    this.#wake = null
    while (this.#pending.size > 0) {
      const batch = [...this.#pending.entries()]
      this.#pending.clear()
      const kept = await this.#kept(batch.map(([, { key }]) => key.worldId))
      for (const [id, { key, totals }] of batch) {
        if (kept !== null && !kept.has(key.worldId)) continue
        try {
          await this.#write(id, key, totals)
          count(this.#written, key.worldId, key.hour, totals.promptTokens + totals.completionTokens, totals.costUsd)
        } catch (err) {
          this.#o.log.warn({ err, worldId: key.worldId, agentId: key.agentId }, 'LLM usage could not be stored; these calls are missing from the totals')
        }
      }
    }
  }

  async #kept (worldIds: string[]): Promise<Set<string> | null> {
    if (this.#o.keep === undefined) return null
    try {
      return await this.#o.keep([...new Set(worldIds)])
    } catch (err) {
      // Not knowing which worlds are gone is no reason to lose their usage.
      this.#o.log.warn({ err }, 'could not read which worlds exist; storing the usage of all of them')
      return null
    }
  }

  async #write (id: string, key: Key, totals: Totals): Promise<void> {
    const usage = this.#o.store.collection<UsageDoc>('llmUsage')
    const update = { $inc: { ...totals }, $setOnInsert: { ...key } }
    try {
      await usage.updateOne({ _id: id }, update, { upsert: true })
    } catch (err) {
      // Two instances inserting the same hour at once: the loser's document now exists, so update it.
      if (!isDuplicateKeyError(err) && (err as { code?: unknown }).code !== 11000) throw err
      await usage.updateOne({ _id: id }, { $inc: update.$inc })
    }
  }
}

export interface UsageTotals {
  calls: number
  errors: number
  promptTokens: number
  completionTokens: number
  tokens: number
  costUsd: number
}

export interface UsageReport {
  worldId: string
  since: number
  until: number
  total: UsageTotals
  agents: Array<UsageTotals & { agentId: string, playerId: string }>
  hours: Array<UsageTotals & { hour: number }>
  models: Array<UsageTotals & { provider: string, model: string }>
}

const emptyTotals = (): UsageTotals => ({ calls: 0, errors: 0, promptTokens: 0, completionTokens: 0, tokens: 0, costUsd: 0 })

function add (into: UsageTotals, doc: UsageDoc): void {
  into.calls += doc.calls
  into.errors += doc.errors
  into.promptTokens += doc.promptTokens
  into.completionTokens += doc.completionTokens
  into.tokens += doc.promptTokens + doc.completionTokens
  into.costUsd += doc.costUsd
}

/** A world's usage over the last `hours` hours (the current one included): totals, per agent, per hour, per model. */
export async function usageReport (store: Store, worldId: string, now: number, hours = 24): Promise<UsageReport> {
  const since = hourOf(now) - (hours - 1) * HOUR_MS
  const docs = await store.collection<UsageDoc>('llmUsage').find({ worldId, hour: { $gte: since } }, { sort: { hour: 1 } })
  const total = emptyTotals()
  const agents = new Map<string, UsageTotals & { agentId: string, playerId: string }>()
  const byHour = new Map<number, UsageTotals & { hour: number }>()
  const models = new Map<string, UsageTotals & { provider: string, model: string }>()
  for (const doc of docs) {
    add(total, doc)
    const agent = agents.get(doc.agentId) ?? { agentId: doc.agentId, playerId: doc.playerId, ...emptyTotals() }
    add(agent, doc)
    agents.set(doc.agentId, agent)
    const hour = byHour.get(doc.hour) ?? { hour: doc.hour, ...emptyTotals() }
    add(hour, doc)
    byHour.set(doc.hour, hour)
    const modelKey = `${doc.provider}|${doc.model}`
    const model = models.get(modelKey) ?? { provider: doc.provider, model: doc.model, ...emptyTotals() }
    add(model, doc)
    models.set(modelKey, model)
  }
  return {
    worldId,
    since,
    until: hourOf(now) + HOUR_MS,
    total,
    agents: [...agents.values()].sort((a, b) => b.costUsd - a.costUsd || b.tokens - a.tokens || a.agentId.localeCompare(b.agentId)),
    hours: [...byHour.values()].sort((a, b) => a.hour - b.hour),
    models: [...models.values()].sort((a, b) => b.costUsd - a.costUsd || b.tokens - a.tokens)
  }
}
