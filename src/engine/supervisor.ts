// Per-instance supervision: creates the default world, runs a runner for every running world this instance
// can take (the engine lease decides), parks idle worlds, restarts stale ones and vacuums old inputs.
import { randomUUID } from 'node:crypto'
import type { Store } from '../store/types.ts'
import { cannedBrain, runOperation, type AgentBrain } from './operations.ts'
import { WorldRunner, type RunnerOptions, type StepReport } from './runner.ts'
import type { EngineDoc, WorldStatusDoc } from './types.ts'
import { ensureDefaultWorld, IDLE_WORLD_MS, kickWorld, markInactive, STALE_ENGINE_MS, vacuumInputs } from './worlds.ts'

export interface SupervisorOptions {
  store: Store
  log: RunnerOptions['log'] & { error: (obj: object, msg: string) => void }
  now?: () => number
  brain?: AgentBrain
  instanceId?: string
  /** How often running worlds are checked (ms). */
  checkEveryMs?: number
  createDefaultWorld?: boolean
  defaultAgents?: number
  /** Most worlds this instance runs at once (ENGINE_MAX_WORLDS). */
  maxWorlds?: number
  runner?: Partial<Pick<RunnerOptions, 'stepMs' | 'leaseMs' | 'maxInputsPerStep' | 'maxRouteSearchesPerStep'>>
  onStep?: (report: StepReport) => void
}

const VACUUM_EVERY_MS = 3600_000

export class EngineSupervisor {
  readonly instanceId: string
  readonly #o: SupervisorOptions & { now: () => number, brain: AgentBrain }
  readonly #runners = new Map<string, WorldRunner>()
  readonly #operations = new Set<Promise<void>>()
  readonly #abort = new AbortController()
  #timer: NodeJS.Timeout | null = null
  #checking: Promise<void> | null = null
  #lastVacuum = 0

  constructor (options: SupervisorOptions) {
    this.instanceId = options.instanceId ?? randomUUID()
    this.#o = { ...options, now: options.now ?? Date.now, brain: options.brain ?? cannedBrain() }
  }

  get brain (): AgentBrain { return this.#o.brain }

  async start (): Promise<void> {
    if (this.#o.createDefaultWorld !== false) {
      const status = await ensureDefaultWorld(this.#o.store, this.#o.now(), { agents: this.#o.defaultAgents })
      this.#o.log.info({ worldId: status.worldId }, 'default world ready')
    }
    await this.check()
    this.#timer = setInterval(() => { this.check().catch(() => {}) }, this.#o.checkEveryMs ?? 2000)
    this.#timer.unref()
  }

  runner (worldId: string): WorldRunner | undefined {
    return this.#runners.get(worldId)
  }

  /** One pass over all worlds; never throws (a failing store is logged and retried on the next pass). */
  check (): Promise<void> {
    this.#checking ??= this.#check().catch((err: unknown) => {
      this.#o.log.error({ err }, 'engine supervision failed; retrying')
    }).finally(() => { this.#checking = null })
    return this.#checking
  }

  async #check (): Promise<void> {
    const { store } = this.#o
    const now = this.#o.now()
    const running = await store.collection<WorldStatusDoc>('worldStatus').find({ status: 'running' })
    // Balance: live instances are those holding an unexpired lease (plus this one); claim only up to a fair share + 1.
    // One read of the running engines per pass (not one per world).
    const engines = new Map((await store.collection<EngineDoc>('engines').find({ running: true })).map((e) => [e._id, e]))
    const held = [...engines.values()].filter((e) => e.runner !== null && e.runner.until >= now)
    const instances = new Set(held.map((e) => e.runner!.instanceId))
    instances.add(this.instanceId)
    const fairShare = Math.ceil(running.length / instances.size)
    const limit = Math.min(this.#o.maxWorlds ?? Infinity, fairShare + 1)
    for (const status of running) {
      if (this.#abort.signal.aborted) return
      // Only an idle-looking world costs a write (markInactive re-checks it atomically).
      if (status.lastViewed < now - IDLE_WORLD_MS) await markInactive(store, status, now)
      const engine = engines.get(status.engineId)
      if (engine === undefined) continue
      const leaseExpired = engine.runner === null || engine.runner.until < now
      // A world whose clock is over a minute old and whose runner has let its lease lapse is restarted.
      if (leaseExpired && engine.currentTime < now - STALE_ENGINE_MS && engine.runner !== null) {
        this.#o.log.warn({ worldId: status.worldId }, 'engine is stale; restarting it')
        await kickWorld(store, status.worldId)
      }
      if (!this.#runners.has(status.worldId) && leaseExpired && this.#runners.size < limit) this.#startRunner(status.worldId)
    }
    if (now - this.#lastVacuum > VACUUM_EVERY_MS) {
      this.#lastVacuum = now
      const removed = await vacuumInputs(store, now)
      if (removed > 0) this.#o.log.info({ removed }, 'vacuumed old inputs')
    }
  }

  #startRunner (worldId: string): void {
    const runner = new WorldRunner({
      store: this.#o.store,
      worldId,
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
          log: this.#o.log
        }, op)
        this.#operations.add(done)
        done.finally(() => this.#operations.delete(done)).catch(() => {})
      }
    })
    this.#runners.set(worldId, runner)
    runner.start().catch((err: unknown) => {
      this.#o.log.error({ err, worldId }, 'runner crashed')
      return 'stopped' as const
    }).finally(() => {
      if (this.#runners.get(worldId) === runner) this.#runners.delete(worldId)
      // Picked up again by the next check if the world should still run.
    })
  }

  async stop (): Promise<void> {
    this.#abort.abort()
    if (this.#timer !== null) clearInterval(this.#timer)
    await this.#checking
    await Promise.all([...this.#runners.values()].map(async (r) => { await r.stop() }))
    this.#runners.clear()
    // Operations stop at their next await; their results would be stale anyway.
    await Promise.allSettled([...this.#operations])
  }
}
