// Per-instance supervision: creates the default world, runs a runner for every running world this instance
// can take (the engine lease decides), parks idle worlds, restarts stale ones, and vacuums old inputs and the
// heartbeats of instances long gone.
import { randomUUID } from 'node:crypto'
import type { ChangeFeed, Doc, Store } from '../store/types.ts'
import { cannedBrain, runOperation, type AgentBrain } from './operations.ts'
import { WorldRunner, type HandedOffWorld, type RunnerOptions, type StepReport } from './runner.ts'
import type { EngineDoc, WorldStatusDoc } from './types.ts'
import { ensureDefaultWorld, IDLE_WORLD_MS, markInactive, STALE_ENGINE_MS, vacuumInputs } from './worlds.ts'

export interface SupervisorOptions {
  store: Store
  log: RunnerOptions['log'] & { error: (obj: object, msg: string) => void }
  now?: () => number
  brain?: AgentBrain
  /** Whether a world may call the LLM now (LLM pause and budget); agents of a world that may not invite no one. */
  mayTalk?: (worldId: string) => Promise<boolean>
  instanceId?: string
  /**
   * The store's change feed: an instance that stops lists the worlds it released beside its heartbeat, and the
   * others start them at once, each its share, without reading first; then it removes its heartbeat, and the others
   * check at once instead of at their next check (a handoff in well under ENGINE_CHECK_MS).
   */
  feed?: ChangeFeed
  /** How often claimable worlds are checked and the heartbeat renewed (ms; ENGINE_CHECK_MS). */
  checkEveryMs?: number
  createDefaultWorld?: boolean
  defaultAgents?: number
  /** Most worlds this instance runs at once (ENGINE_MAX_WORLDS). */
  maxWorlds?: number
  runner?: Partial<Pick<RunnerOptions, 'stepMs' | 'leaseMs' | 'maxInputsPerStep' | 'maxRouteSearchesPerStep' | 'snapshots'>>
  onStep?: (report: StepReport) => void
}

const VACUUM_EVERY_MS = 3600_000
/** An instance's heartbeat lasts this many checks: one missed check does not make it look gone. */
const INSTANCE_TTL_CHECKS = 3
/** Checks for which an instance leaves a world it handed off to the others. */
const SHED_HOLD_CHECKS = 10

/** An instance's heartbeat in `instances`: the others count it (and its room) when they work out a fair share. */
export interface InstanceDoc extends Doc, InstanceBeat {}

/**
 * What a stopping instance inserts beside its heartbeat as it releases its leases: the worlds it gave up. An
 * insert, so the change feed delivers the whole document on every store (an update's document is looked up later
 * on MongoDB, and may be gone by then). Expired from the start, so no pass counts it as an instance.
 */
interface ReleasedDoc extends InstanceDoc { from: string, released: HandedOffWorld[] }

function releasedId (instanceId: string): string { return `${instanceId}/released` }

interface InstanceBeat {
  _id: string
  until: number
  /** Worlds this instance runs. */
  worlds: number
  maxWorlds: number | null
  startedAt: number
}

export class EngineSupervisor {
  readonly instanceId: string
  readonly #o: SupervisorOptions & { now: () => number, brain: AgentBrain }
  readonly #runners = new Map<string, WorldRunner>()
  readonly #operations = new Set<Promise<void>>()
  readonly #abort = new AbortController()
  #timer: NodeJS.Timeout | null = null
  #soon: NodeJS.Timeout | null = null
  #checking: Promise<void> | null = null
  #unsubscribe: (() => void) | null = null
  #lastVacuum = 0
  readonly #startedAt: number
  /** Whether this instance's heartbeat has been written (later renewals never create it again). */
  #beating = false
  /** Worlds this instance handed off, and until when it leaves them to the others. */
  readonly #shed = new Map<string, number>()
  /** The last pass's view: the live instances and the running worlds, for sharing a stopping instance's worlds. */
  #lastView: { live: string[], total: number } | null = null

  constructor (options: SupervisorOptions) {
    this.instanceId = options.instanceId ?? randomUUID()
    this.#o = { ...options, now: options.now ?? Date.now, brain: options.brain ?? cannedBrain() }
    this.#startedAt = this.#o.now()
  }

  get #checkEveryMs (): number { return this.#o.checkEveryMs ?? 1000 }

  get brain (): AgentBrain { return this.#o.brain }

  async start (): Promise<void> {
    if (this.#o.createDefaultWorld !== false) {
      const status = await ensureDefaultWorld(this.#o.store, this.#o.now(), { agents: this.#o.defaultAgents })
      this.#o.log.info({ worldId: status.worldId }, 'default world ready')
    }
    this.#unsubscribe = this.#o.feed?.subscribe(['instances'], (event) => {
      if (event.id === this.instanceId || this.#abort.signal.aborted) return
      const listed = event.op === 'insert' ? event.doc as ReleasedDoc | undefined : undefined
      if (listed?.released !== undefined) {
        // The worlds this instance handed off may be among them: nothing holds them back now.
        this.#shed.clear()
        this.#takeShare(listed.from, listed.released)
        return
      }
      // Another instance left and released its worlds: take them now. A check under way may have read before
      // the release, so a fresh one follows it.
      if (event.op !== 'delete' || event.id.endsWith('/released')) return
      // The worlds this instance handed off may be among the ones just released: nothing holds them back now.
      this.#shed.clear()
      // Claimed at once, without waiting for a check under way (it may have read before the release) and without
      // renewing the heartbeat first; then a full check as usual.
      this.#claimNow().then(async () => { await this.check() }).catch(() => {})
    }) ?? null
    await this.check()
    this.#timer = setInterval(() => { this.check().catch(() => {}) }, this.#checkEveryMs)
    this.#timer.unref()
  }

  runner (worldId: string): WorldRunner | undefined {
    return this.#runners.get(worldId)
  }

  /**
   * A pass a quarter of the interval from now, not a whole one: while worlds are claimable (a failover, whose
   * leases lapse one after another) or this instance lost the race for one, the rest are taken sooner.
   */
  #checkSoon (): void {
    if (this.#soon !== null || this.#abort.signal.aborted) return
    this.#soon = setTimeout(() => {
      this.#soon = null
      this.check().catch(() => {})
    }, this.#checkEveryMs / 4)
    this.#soon.unref()
  }

  /** One pass over all worlds; never throws (a failing store is logged and retried on the next pass). */
  check (): Promise<void> {
    this.#checking ??= this.#check().catch((err: unknown) => {
      this.#o.log.error({ err }, 'engine supervision failed; retrying')
    }).finally(() => { this.#checking = null })
    return this.#checking
  }

  /**
   * What a pass reads, each through an index: the live instances, the running count and the claimable engines
   * (running with a lease that is free, so runner.until is null too, or has expired). The reads go out together.
   */
  async #readClaims (now: number): Promise<{ live: InstanceDoc[], fairShare: number, limit: number, claimable: EngineDoc[], rotation: number }> {
    const { store } = this.#o
    const engines = store.collection<EngineDoc>('engines')
    const [live, total, free, expired] = await Promise.all([
      store.collection<InstanceDoc>('instances').find({ until: { $gte: now } }),
      engines.count({ running: true }),
      engines.find({ running: true, 'runner.until': null }),
      engines.find({ running: true, 'runner.until': { $lt: now } })
    ])
    if (!live.some((i) => i._id === this.instanceId)) live.push({ ...this.#beat(now), _creationTime: now })
    this.#lastView = { live: live.map((i) => i._id), total }
    const { fairShare, limit, rank } = this.#share(total, this.#lastView.live)
    // Where in the claimable worlds this instance starts: the live instances, in the order of their ids, start
    // evenly apart, so instances that check at the same moment (a failover) take different worlds rather than
    // race for the same ones up to their limits and leave the rest to the next check.
    return { live, fairShare, limit, claimable: [...free, ...expired], rotation: rank / live.length }
  }

  /**
   * This instance's part of the running worlds among these live instances: the fair share (rounded up), its limit
   * (fair share + 1, at most ENGINE_MAX_WORLDS), and its rank in the order of their ids (-1 when not among them).
   */
  #share (total: number, live: readonly string[]): { fairShare: number, limit: number, rank: number } {
    const fairShare = Math.ceil(total / live.length)
    return { fairShare, limit: Math.min(this.#o.maxWorlds ?? Infinity, fairShare + 1), rank: [...live].sort().indexOf(this.instanceId) }
  }

  /**
   * Starts a runner for each claimable world, up to this instance's limit (the runner takes the lease). Returns how
   * many of them are worlds to run (their status says running), 0 when this instance had no room to look.
   */
  async #claim (claimable: EngineDoc[], fairShare: number, limit: number, rotation: number): Promise<number> {
    if (claimable.length === 0 || this.#runners.size >= limit) return 0
    const byEngine = new Map(claimable.map((e) => [e._id, e]))
    const found = await this.#o.store.collection<WorldStatusDoc>('worldStatus').find({ engineId: { $in: [...byEngine.keys()] }, status: 'running' })
    const start = Math.floor(rotation * found.length)
    const statuses = [...found.slice(start), ...found.slice(0, start)]
    for (const status of statuses) {
      if (this.#abort.signal.aborted || this.#runners.size >= limit) break
      if (this.#runners.has(status.worldId)) continue
      // A world handed off is left to the others only while taking it back would put this instance over its
      // fair share again; below it (another instance went away), it is taken like any other.
      if (this.#shed.has(status.worldId) && this.#runners.size >= fairShare) continue
      this.#startRunner(status.worldId, status.engineId, byEngine.get(status.engineId)?.processedInputNumber)
    }
    return statuses.length
  }

  /**
   * Another instance stopped and lists the worlds it released: this instance starts its share of them at once,
   * with no read before (each runner's lease write is the fence, as always). The shares follow the last pass's
   * view of the instances left, in the order of their ids, so the survivors split the worlds without asking each
   * other; a share nobody took (an instance gone meanwhile, or with no room) goes to the next check.
   */
  #takeShare (departed: string, released: HandedOffWorld[]): void {
    const view = this.#lastView
    if (view === null) return
    const live = view.live.filter((id) => id !== departed)
    const { limit, rank } = this.#share(view.total, live)
    if (rank < 0) return
    for (let i = rank; i < released.length; i += live.length) {
      if (this.#runners.size >= limit) break
      const world = released[i]!
      if (!this.#runners.has(world.worldId)) this.#startRunner(world.worldId, world.engineId, world.inputsAfter, departed)
    }
  }

  /** Another instance has released its worlds: claim them now, the heartbeat renewed alongside. */
  async #claimNow (): Promise<void> {
    const now = this.#o.now()
    const [reads] = await Promise.all([this.#readClaims(now), this.#heartbeat(now)])
    if (this.#abort.signal.aborted) return
    await this.#claim(reads.claimable.filter((e) => e.runner === null || e.currentTime >= now - STALE_ENGINE_MS), reads.fairShare, reads.limit, reads.rotation)
  }

  async #check (): Promise<void> {
    const { store } = this.#o
    const now = this.#o.now()
    const engines = store.collection<EngineDoc>('engines')
    // Heartbeat first, so instances that start together count each other before they claim. Every query after it
    // is indexed and reads only what needs action: the cost of a pass is the live instances, the idle worlds and
    // the claimable ones, never every world.
    await this.#heartbeat(now)
    const { live, fairShare, limit, claimable, rotation } = await this.#readClaims(now)
    for (const engine of claimable) {
      // A world whose clock is over a minute old and whose runner has let its lease lapse is restarted.
      if (engine.runner !== null && engine.currentTime < now - STALE_ENGINE_MS) {
        this.#o.log.warn({ engineId: engine._id }, 'engine is stale; restarting it')
        await engines.updateOne({ _id: engine._id, generationNumber: engine.generationNumber }, { $inc: { generationNumber: 1 }, $set: { runner: null } })
      }
    }
    for (const [worldId, until] of this.#shed) if (until < now) this.#shed.delete(worldId)
    const runnable = await this.#claim(claimable, fairShare, limit, rotation)
    // Only with room: an instance at its limit takes nothing sooner by looking sooner. And only for worlds to run:
    // an engine left running under a world that is not (a stop cut short) is no reason to look four times as often.
    if (runnable > 0 && this.#runners.size < limit) this.#checkSoon()
    this.#rebalance(now, live, fairShare)
    // Idle worlds are parked after the claims, which are what a pass after another instance's exit is for.
    for (const status of await store.collection<WorldStatusDoc>('worldStatus').find({ status: 'running', lastViewed: { $lt: now - IDLE_WORLD_MS } })) {
      if (this.#abort.signal.aborted) return
      await markInactive(store, status, now)
    }
    if (now - this.#lastVacuum > VACUUM_EVERY_MS) {
      this.#lastVacuum = now
      const removed = await vacuumInputs(store, now)
      if (removed > 0) this.#o.log.info({ removed }, 'vacuumed old inputs')
      // A killed instance never removes its heartbeat, and each start has a new id: without this, every restart
      // of a deployment would leave a document behind. An hour past its expiry, no pass counts it anyway.
      const gone = await store.collection<InstanceDoc>('instances').deleteMany({ until: { $lt: now - VACUUM_EVERY_MS } })
      if (gone > 0) this.#o.log.info({ removed: gone }, 'removed the heartbeats of instances gone for over an hour')
    }
  }

  #beat (now: number): InstanceBeat {
    return {
      _id: this.instanceId,
      until: now + INSTANCE_TTL_CHECKS * this.#checkEveryMs,
      worlds: this.#runners.size,
      maxWorlds: this.#o.maxWorlds ?? null,
      startedAt: this.#startedAt
    }
  }

  async #heartbeat (now: number): Promise<void> {
    if (this.#abort.signal.aborted) return
    const { _id, ...beat } = this.#beat(now)
    const instances = this.#o.store.collection<InstanceDoc>('instances')
    if (!this.#beating) {
      await instances.updateOne({ _id }, { $set: beat }, { upsert: true })
      this.#beating = true
      return
    }
    // Never undoes a stop: a renewal that lands after the heartbeat was expired (until 0) or deleted matches
    // nothing, so the others do not count a departed instance (and keep room for it) for three more checks.
    await instances.updateOne({ _id, until: { $gt: 0 } }, { $set: beat })
  }

  /**
   * More than a fair share + 1 while other live instances have room (an instance that started first, or the
   * survivors of a failure when a new instance joins): hand the excess to them, newest claims first. Their next
   * check takes the released worlds; this instance leaves them alone for a while so it does not take them back.
   */
  #rebalance (now: number, live: InstanceBeat[], fairShare: number): void {
    if (this.#runners.size <= fairShare + 1) return
    let room = 0
    for (const other of live) {
      if (other._id === this.instanceId) continue
      room += Math.max(0, Math.min(other.maxWorlds ?? Infinity, fairShare + 1) - other.worlds)
    }
    const excess = Math.min(this.#runners.size - fairShare, room)
    if (excess <= 0) return
    const handed = [...this.#runners.keys()].slice(-excess)
    this.#o.log.info({ worlds: handed.length, held: this.#runners.size, fairShare, instances: live.length }, 'handing worlds to other instances')
    for (const worldId of handed) {
      this.#shed.set(worldId, now + SHED_HOLD_CHECKS * this.#checkEveryMs)
      // The runner releases its lease when it stops; #startRunner's cleanup drops it from #runners.
      this.#runners.get(worldId)?.stop().catch(() => {})
      this.#runners.delete(worldId)
    }
  }

  #startRunner (worldId: string, engineId: string, inputsAfter?: number, takeFrom?: string): void {
    const runner = new WorldRunner({
      store: this.#o.store,
      worldId,
      engineId,
      ...(inputsAfter !== undefined ? { inputsAfter } : {}),
      ...(takeFrom !== undefined ? { takeFrom } : {}),
      instanceId: this.instanceId,
      now: this.#o.now,
      log: this.#o.log,
      ...this.#o.runner,
      onStep: this.#o.onStep,
      startOperation: (op, r) => {
        const done = runOperation({
          store: this.#o.store,
          worldId,
          engineId: r.engineId!,
          map: r.map!,
          brain: this.#o.brain,
          now: this.#o.now,
          world: () => r.world!,
          signal: this.#abort.signal,
          log: this.#o.log,
          ...(this.#o.mayTalk !== undefined ? { mayTalk: async () => await this.#o.mayTalk!(worldId) } : {})
        }, op)
        this.#operations.add(done)
        done.finally(() => this.#operations.delete(done)).catch(() => {})
      }
    })
    this.#runners.set(worldId, runner)
    runner.start().catch((err: unknown) => {
      this.#o.log.error({ err, worldId }, 'runner crashed')
      return 'stopped' as const
    }).then((exit) => {
      // Another instance took this world first: the room it held may go to a world nobody has taken yet.
      if (exit === 'not-acquired') this.#checkSoon()
    }).finally(() => {
      if (this.#runners.get(worldId) === runner) this.#runners.delete(worldId)
      // Picked up again by the next check if the world should still run.
    })
  }

  async stop (): Promise<void> {
    const started = this.#o.now()
    this.#abort.abort()
    if (this.#timer !== null) clearInterval(this.#timer)
    if (this.#soon !== null) clearTimeout(this.#soon)
    this.#unsubscribe?.()
    const heartbeat = this.#o.store.collection<InstanceDoc>('instances')
    const engines = this.#o.store.collection<EngineDoc>('engines')
    const warn = (err: unknown): void => { this.#o.log.warn({ err }, 'could not end this instance\'s heartbeat; it expires on its own') }
    // Fenced like every lease write: only leases this instance holds, whatever their generation.
    const release = async (): Promise<void> => {
      await engines.updateMany({ 'runner.instanceId': this.instanceId }, { $set: { runner: null } })
        .catch((err: unknown) => { this.#o.log.warn({ err }, 'could not release this instance\'s leases; they lapse on their own') })
    }
    const runners = [...this.#runners.values()]
    const released = runners.flatMap((r) => r.handoff ?? [])
    this.#runners.clear()
    // The leases go at once, in one write, without waiting for the steps under way: a step's commit is fenced by
    // the world's step number and generation, so one that lands after another instance took the world over either
    // fails (the newer runner committed first) or makes the newer runner reload, finish that step's outbox and
    // start its operations (see WorldRunner#reload). Nothing is applied twice or lost either way. Alongside, the
    // heartbeat is expired (the others count this instance out and share the whole load) and the worlds are listed:
    // the others, hearing the list through the change feed, start their shares at once and take the leases over
    // whether or not the release has landed (the same fence holds). The heartbeat is deleted at the end, which has
    // the others check at once (all they need when no world was listed).
    const stopping = Promise.all(runners.map(async (r) => { await r.stop({ release: false }).catch(() => {}) }))
    const listing = { ...this.#beat(started), _id: releasedId(this.instanceId), until: 0, from: this.instanceId, released }
    await Promise.all([
      heartbeat.updateOne({ _id: this.instanceId }, { $set: { until: 0 } }).catch(warn),
      release(),
      released.length > 0 ? heartbeat.insertOne(listing).catch(warn) : null
    ])
    if (released.length === 0) await heartbeat.deleteOne({ _id: this.instanceId }).catch(warn)
    if (runners.length > 0) this.#o.log.info({ worlds: runners.length, ms: this.#o.now() - started }, 'released this instance\'s worlds to the others')
    // The runners end once what they have under way is done (a step's commit, its outbox). A check under way is
    // not waited for: after the abort it starts no runner, and its heartbeat renewal cannot bring this instance
    // back (see #heartbeat). A lease it took in the meantime is released by a second write once all have ended.
    await stopping
    await release()
    if (released.length > 0) await heartbeat.deleteMany({ _id: { $in: [this.instanceId, listing._id] } }).catch(warn)
    // Before the store closes under it.
    await this.#checking
    // Operations stop at their next await; their results would be stale anyway.
    await Promise.allSettled([...this.#operations])
  }
}
