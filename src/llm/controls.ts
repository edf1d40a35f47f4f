// Budgets and the kill switch: whether a world may call the LLM now. Pauses (of one world or the whole
// deployment) and per-world budget overrides live in the `llmControls` collection, so they hold across
// restarts and on every instance; spending is read from `llmUsage` (written by every instance) plus this
// instance's calls that were not stored yet when it was read. Both are cached briefly: a check costs a map lookup on the hot path.
import type { Doc, Store } from '../store/types.ts'
import { HOUR_MS, hourOf, type HourCount, type LocalUsage, type UsageDoc } from './usage.ts'
import type { PriceTable } from './cost.ts'
import { LlmError } from './errors.ts'

export const DAY_MS = 24 * HOUR_MS
export const DEPLOYMENT_CONTROL_ID = 'deployment'

export const BUDGET_KEYS = ['tokensPerHour', 'tokensPerDay', 'usdPerHour', 'usdPerDay'] as const
export type BudgetKey = typeof BUDGET_KEYS[number]
/** Limits per UTC clock hour and UTC day; a missing (or null) limit is no limit. */
export type Budget = Partial<Record<BudgetKey, number | null>>

export interface LlmControlDoc extends Doc {
  /** Absent on the deployment's own document. */
  worldId?: string
  paused: boolean
  /** A world's override of the default budget, key by key; null lifts that limit for the world. */
  budget?: Budget
  updatedAt: number
}

export interface Spent {
  hour: { tokens: number, costUsd: number }
  day: { tokens: number, costUsd: number }
}

export type Hold =
  | { reason: 'paused', scope: 'deployment' | 'world' }
  | { reason: 'budgetExceeded', limit: BudgetKey, allowed: number, spent: number }

export interface WorldLlmState {
  worldId: string
  paused: boolean
  deploymentPaused: boolean
  budget: Record<BudgetKey, number | null>
  override: Budget
  spent: Spent
  budgetExceeded: boolean
  exceeded: BudgetKey | null
}

export interface LlmControlsOptions {
  store: Store
  /** The default budget (from LLM_BUDGET_*). */
  defaults: Budget
  prices: PriceTable
  now: () => number
  /** How long pauses, overrides and stored spending are reused before they are read again. */
  cacheMs: number
  log?: { warn: (obj: object, msg: string) => void }
}

interface Cached<T> { value: T, readAt: number, reading?: Promise<T> }
interface StoredSpending { byHour: Map<number, HourCount>, writtenAtRead: Map<number, HourCount> }

const controlId = (worldId: string): string => `world:${worldId}`
const zero = (): Spent => ({ hour: { tokens: 0, costUsd: 0 }, day: { tokens: 0, costUsd: 0 } })

export function heldError (hold: Hold, worldId: string): LlmError {
  if (hold.reason === 'paused') {
    return new LlmError('TOWNHALL_ERR_LLM_PAUSED', hold.scope === 'deployment'
      ? 'LLM use is paused for the whole deployment (townhall llm resume)'
      : `LLM use is paused for world ${worldId} (townhall llm resume --world ${worldId})`)
  }
  return new LlmError('TOWNHALL_ERR_LLM_BUDGET_EXCEEDED', `world ${worldId} has spent its LLM budget: ${hold.limit} ${round(hold.spent)} of ${hold.allowed}`)
}

const round = (n: number): number => Math.round(n * 1e6) / 1e6

export class LlmControls {
  readonly #o: LlmControlsOptions
  readonly #controls = new Map<string, Cached<LlmControlDoc | null>>()
  readonly #stored = new Map<string, Cached<StoredSpending>>()
  #local: LocalUsage | undefined
  /** The budgetExceeded flag as last written to each world's status. */
  readonly #flags = new Map<string, boolean>()
  readonly #listeners: Array<(worldId: string | null, hold: Hold) => void> = []

  constructor (options: LlmControlsOptions) {
    this.#o = options
  }

  /** Called with the world (null: every world) when a check finds LLM use held, so calls in flight can stop. */
  onHold (listener: (worldId: string | null, hold: Hold) => void): void {
    this.#listeners.push(listener)
  }

  /** This instance's own count of its calls (the usage ledger), for the calls not yet in `llmUsage`. */
  countLocal (local: LocalUsage): void {
    this.#local = local
  }

  /** Forgets what is cached (a pause or budget changed), so the next check reads the store. */
  invalidate (): void {
    this.#controls.clear()
    for (const entry of this.#stored.values()) entry.readAt = -Infinity
  }

  /** Why this world may not call the LLM now, or null when it may. Keeps the world's budgetExceeded flag current. */
  async hold (worldId: string): Promise<Hold | null> {
    const deployment = await this.#control(DEPLOYMENT_CONTROL_ID)
    if (deployment?.paused === true) return this.#held(null, { reason: 'paused', scope: 'deployment' })
    if (worldId === '') return null
    const control = await this.#control(controlId(worldId))
    if (control?.paused === true) return this.#held(worldId, { reason: 'paused', scope: 'world' })
    const budget = effectiveBudget(this.#o.defaults, control?.budget)
    if (BUDGET_KEYS.every((k) => budget[k] === null)) {
      await this.#flag(worldId, false)
      return null
    }
    const exceeded = overBudget(budget, await this.spent(worldId))
    await this.#flag(worldId, exceeded !== null)
    return exceeded === null ? null : this.#held(worldId, exceeded)
  }

  /** The world's spending this UTC hour and day: stored (all instances), plus this instance's calls not stored when read. */
  async spent (worldId: string): Promise<Spent> {
    const now = this.#o.now()
    const stored = await this.#cached(this.#stored, worldId, async () => await this.#readSpent(worldId))
    const hour = hourOf(now)
    const day = dayOf(now)
    const recorded = this.#local?.recorded(worldId) ?? new Map<number, HourCount>()
    const hours = new Set([...stored.byHour.keys(), ...recorded.keys()])
    const out = zero()
    for (const h of hours) {
      if (h < day) continue
      const fromStore = stored.byHour.get(h)
      const mine = recorded.get(h)
      const alreadyStored = stored.writtenAtRead.get(h)
      const tokens = (fromStore?.tokens ?? 0) + Math.max(0, (mine?.tokens ?? 0) - (alreadyStored?.tokens ?? 0))
      const costUsd = (fromStore?.costUsd ?? 0) + Math.max(0, (mine?.costUsd ?? 0) - (alreadyStored?.costUsd ?? 0))
      out.day.tokens += tokens
      out.day.costUsd += costUsd
      if (h === hour) out.hour = { tokens, costUsd }
    }
    return out
  }

  async state (worldId: string): Promise<WorldLlmState> {
    this.invalidate()
    const hold = await this.hold(worldId)
    const deployment = await this.#control(DEPLOYMENT_CONTROL_ID)
    const control = await this.#control(controlId(worldId))
    const budget = effectiveBudget(this.#o.defaults, control?.budget)
    const spent = await this.spent(worldId)
    const exceeded = overBudget(budget, spent)
    return {
      worldId,
      paused: control?.paused === true,
      deploymentPaused: deployment?.paused === true,
      budget,
      override: control?.budget ?? {},
      spent,
      budgetExceeded: exceeded !== null,
      exceeded: hold?.reason === 'budgetExceeded' ? hold.limit : exceeded?.limit ?? null
    }
  }

  async deploymentPaused (): Promise<boolean> {
    return (await this.#control(DEPLOYMENT_CONTROL_ID))?.paused === true
  }

  /** Pauses or resumes LLM use of one world, or of the whole deployment when worldId is undefined. */
  async setPaused (worldId: string | undefined, paused: boolean): Promise<void> {
    await setPaused(this.#o.store, worldId, paused, this.#o.now())
    this.invalidate()
    if (paused) this.#held(worldId ?? null, { reason: 'paused', scope: worldId === undefined ? 'deployment' : 'world' })
  }

  /** Replaces the world's budget override (keys left out follow the defaults again). */
  async setBudget (worldId: string, budget: Budget): Promise<void> {
    await setBudget(this.#o.store, worldId, budget, this.#o.now())
    this.invalidate()
  }

  #held (worldId: string | null, hold: Hold): Hold {
    for (const listener of this.#listeners) {
      try { listener(worldId, hold) } catch (err) { this.#o.log?.warn({ err }, 'LLM hold listener threw') }
    }
    return hold
  }

  async #control (id: string): Promise<LlmControlDoc | null> {
    return await this.#cached(this.#controls, id, async () => await this.#o.store.collection<LlmControlDoc>('llmControls').findOne({ _id: id }))
  }

  async #cached<T> (cache: Map<string, Cached<T>>, key: string, read: () => Promise<T>): Promise<T> {
    const now = this.#o.now()
    const entry = cache.get(key)
    if (entry !== undefined && now - entry.readAt < this.#o.cacheMs) return entry.value
    if (entry?.reading !== undefined) return await entry.reading
    const reading = read()
    if (entry !== undefined) entry.reading = reading
    else cache.set(key, { value: undefined as T, readAt: -Infinity, reading })
    try {
      const value = await reading
      cache.set(key, { value, readAt: now })
      return value
    } catch (err) {
      cache.delete(key)
      throw err
    }
  }

  async #readSpent (worldId: string): Promise<StoredSpending> {
    const day = dayOf(this.#o.now())
    // Taken before the read: what was stored by then is in the read (a write landing during it may count twice, never zero times).
    const writtenAtRead = new Map([...(this.#local?.written(worldId) ?? new Map<number, HourCount>())].map(([h, c]) => [h, { ...c }]))
    const docs = await this.#o.store.collection<UsageDoc>('llmUsage').find({ worldId, hour: { $gte: day } })
    const byHour = new Map<number, HourCount>()
    for (const doc of docs) {
      const c = byHour.get(doc.hour) ?? { tokens: 0, costUsd: 0 }
      c.tokens += doc.promptTokens + doc.completionTokens
      c.costUsd += doc.costUsd
      byHour.set(doc.hour, c)
    }
    return { byHour, writtenAtRead }
  }

  async #flag (worldId: string, exceeded: boolean): Promise<void> {
    let known = this.#flags.get(worldId)
    if (known === undefined) {
      const status = await this.#o.store.collection('worldStatus').findOne({ worldId })
      if (status === null) return
      known = status.budgetExceeded === true
      this.#flags.set(worldId, known)
    }
    if (known === exceeded) return
    this.#flags.set(worldId, exceeded)
    try {
      await this.#o.store.collection('worldStatus').updateOne({ worldId }, { $set: { budgetExceeded: exceeded } })
    } catch (err) {
      this.#flags.delete(worldId)
      this.#o.log?.warn({ err, worldId }, 'could not store the world\'s budgetExceeded flag')
    }
  }
}

export function dayOf (ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS
}

/** The defaults with the world's override over them, key by key. */
export function effectiveBudget (defaults: Budget, override: Budget | undefined): Record<BudgetKey, number | null> {
  const out = {} as Record<BudgetKey, number | null>
  for (const key of BUDGET_KEYS) {
    const value = override !== undefined && Object.hasOwn(override, key) ? override[key] : defaults[key]
    out[key] = value === undefined ? null : value
  }
  return out
}

/** The first limit the spending has reached, or null. */
export function overBudget (budget: Record<BudgetKey, number | null>, spent: Spent): Extract<Hold, { reason: 'budgetExceeded' }> | null {
  const measured: Record<BudgetKey, number> = {
    tokensPerHour: spent.hour.tokens,
    tokensPerDay: spent.day.tokens,
    usdPerHour: spent.hour.costUsd,
    usdPerDay: spent.day.costUsd
  }
  for (const key of BUDGET_KEYS) {
    const allowed = budget[key]
    if (allowed !== null && measured[key] >= allowed) return { reason: 'budgetExceeded', limit: key, allowed, spent: measured[key] }
  }
  return null
}

/** Writes a pause (the CLI calls this directly; running instances see it within LLM_CONTROL_CACHE_MS). */
export async function setPaused (store: Store, worldId: string | undefined, paused: boolean, now: number): Promise<void> {
  const id = worldId === undefined ? DEPLOYMENT_CONTROL_ID : controlId(worldId)
  const update = worldId === undefined ? { $set: { paused, updatedAt: now } } : { $set: { paused, updatedAt: now }, $setOnInsert: { worldId } }
  await store.collection<LlmControlDoc>('llmControls').updateOne({ _id: id }, update, { upsert: true })
}

export async function setBudget (store: Store, worldId: string, budget: Budget, now: number): Promise<void> {
  await store.collection<LlmControlDoc>('llmControls').updateOne({ _id: controlId(worldId) },
    { $set: { budget, updatedAt: now }, $setOnInsert: { worldId, paused: false } }, { upsert: true })
}

/** Whether LLM use is paused for the deployment and for the world, read from the store (for status functions). */
export async function pausedState (store: Store, worldId: string): Promise<{ deployment: boolean, world: boolean }> {
  const docs = await store.collection<LlmControlDoc>('llmControls').find({ _id: { $in: [DEPLOYMENT_CONTROL_ID, controlId(worldId)] } })
  return {
    deployment: docs.some((d) => d._id === DEPLOYMENT_CONTROL_ID && d.paused),
    world: docs.some((d) => d._id === controlId(worldId) && d.paused)
  }
}

/** Parses a budget limit from the CLI or an env variable: a non-negative number, or none/null for no limit. */
export function parseLimit (raw: string): number | null {
  const value = raw.trim().toLowerCase()
  if (value === 'none' || value === 'null' || value === 'unlimited') return null
  const n = Number(value)
  if (value === '' || !Number.isFinite(n) || n < 0) throw new Error(`expected a non-negative number or none, got ${JSON.stringify(raw)}`)
  return n
}
