// One world's step loop. Exactly one runner advances a world: it holds the engine's lease and generation,
// and commits each step with one conditional write on the world document (its commit point).
import { inFlightOperations, simulateStep } from '../game/index.ts'
import type { AgentOperation, Player, StepStats, WorldMap, WorldState } from '../game/index.ts'
import type { Filter, Store, Update } from '../store/types.ts'
import { diffFields } from './diff.ts'
import { loadWorld, storedState } from './worldDoc.ts'
import { applyOutbox, humansChanged, operationsToRestart, outboxIsEmpty, outboxOf, recordHumanPlayers } from './outbox.ts'
import type { EngineDoc, InputDoc, Outbox, StepState, WorldDoc } from './types.ts'
import { stepRecord, takeSnapshot, type SnapshotPolicy, type SnapshotReason } from './snapshots.ts'

export interface RunnerOptions {
  store: Store
  worldId: string
  /** The world's engine, when the caller knows it: the lease is then taken while the world loads, not after. */
  engineId?: string
  /**
   * With `engineId`: the engine record's last processed input as the caller read it (it trails the world's by up
   * to a step). The first step's inputs are then read from there while the world loads, not after.
   */
  inputsAfter?: number
  /**
   * With `engineId`: an instance that is stopping and listed this world as released. Its lease is taken over
   * whether or not its release has landed yet (the generation bump fences off whatever it still commits).
   */
  takeFrom?: string
  instanceId: string
  now: () => number
  log: { info: (obj: object, msg: string) => void, warn: (obj: object, msg: string) => void, debug: (obj: object, msg: string) => void }
  stepMs?: number
  leaseMs?: number
  maxInputsPerStep?: number
  maxRouteSearchesPerStep?: number
  /** Measure each commit's bytes (`bytesWritten`, `writeBreakdown` in the step report): costly, for benchmarks. */
  measureWrites?: boolean
  /** Starts an agent operation (not awaited by the step). */
  startOperation?: (op: AgentOperation, runner: WorldRunner) => void
  /** Called after every committed step, for metrics and benchmarks. */
  onStep?: (report: StepReport) => void
  /** For tests: waits between steps; defaults to a timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  /** Snapshots and step records for replay (SNAPSHOT_EVERY_STEPS, SNAPSHOT_KEEP); none without. */
  snapshots?: SnapshotPolicy
}

export interface StepReport {
  worldId: string
  step: number
  inputs: number
  queued: number
  stats: StepStats
  /** Wall time of the game step and the diff, without the I/O. */
  computeMs: number
  /** Wall time of the whole step: loading inputs, computing, committing and applying the outbox. */
  durationMs: number
  /** The engine clock after this step (ms since epoch): how far it trails wall time is the engine's lag. */
  currentTime: number
  /** Bytes of the commit, with `measureWrites`. */
  bytesWritten?: number
  /** Bytes of the commit by field pattern (`players.*.position`, `outbox`, `historicalLocations`, ...), with `measureWrites`. */
  writeBreakdown?: Record<string, number>
  world: WorldState
}

const WORLD_FIELDS = ['nextId', 'players', 'agents', 'conversations', 'rngState'] as const

export type RunnerExit = 'stopped' | 'lost-lease' | 'not-acquired' | 'engine-stopped'

function defaultSleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = (): void => { clearTimeout(timer); resolve() }
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** What a runner reads of a world's map: what the game's rules use (movement, pathfinding, activities). */
const GAME_MAP_FIELDS = ['width', 'height', 'tileDim', 'objectTiles'] as const

/** Resolves with `p`'s value, or with undefined as soon as `signal` aborts (`p` goes on, unheard). */
function unlessAborted<T> (p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    p.catch(() => {})
    return Promise.resolve(undefined)
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => { resolve(undefined) }
    signal.addEventListener('abort', onAbort, { once: true })
    p.then((value) => { signal.removeEventListener('abort', onAbort); resolve(value) },
      (err: unknown) => { signal.removeEventListener('abort', onAbort); reject(err) })
  })
}

/** Bytes an update sends: its JSON, with binary values counted at their real size. */
export function updateBytes (update: Update): number {
  let binary = 0
  const json = JSON.stringify(update, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key]
    if (ArrayBuffer.isView(raw)) { binary += raw.byteLength; return 0 }
    return value
  })
  return Buffer.byteLength(json) + binary
}

export function writeBreakdown (update: Update): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [op, fields] of Object.entries(update)) {
    for (const [path, value] of Object.entries(fields as Record<string, unknown>)) {
      // Group by field pattern: `conversations.*.lastMessage`, with entity ids folded into `*`.
      const key = path.split('.').slice(0, 3).map((part, i) => (i === 1 && /^[a-z]:\d+$/.test(part)) ? '*' : part).join('.')
      out[key] = (out[key] ?? 0) + updateBytes({ [op]: { [path]: value } })
    }
  }
  return out
}

/** The engine record's mirror of a committed step's clock. */
function clockOf (step: StepState): Pick<EngineDoc, 'currentTime' | 'lastStepTs' | 'processedInputNumber'> {
  return { currentTime: step.currentTime, lastStepTs: step.lastStepTs, processedInputNumber: step.processedInputNumber }
}

/** A world an instance released as it stopped, as the list it inserts beside its heartbeat names it. */
export interface HandedOffWorld { worldId: string, engineId: string, inputsAfter: number }

export class WorldRunner {
  readonly worldId: string
  readonly #o: Required<Omit<RunnerOptions, 'startOperation' | 'onStep' | 'sleep' | 'snapshots' | 'engineId' | 'inputsAfter' | 'takeFrom'>> & Pick<RunnerOptions, 'startOperation' | 'onStep' | 'snapshots' | 'engineId' | 'inputsAfter' | 'takeFrom'>
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>
  readonly #abort = new AbortController()
  #world: WorldDoc | null = null
  #map: WorldMap | null = null
  #generation = -1
  #exit: Promise<RunnerExit> | null = null
  /** When this runner took the lease (its clock), until its first step: that step skips its renewal. */
  #leaseTakenAt: number | null = null
  /** The first step's inputs, read while the runner started. */
  #prefetched: InputDoc[] | null = null
  /** The start's record of the world's humans, written before the first step's outbox (which may change them). */
  #humansRecorded: Promise<void> | null = null
  /** What the last step before this runner took the world still owed, being written while the first step runs. */
  #owed: Promise<void> | null = null
  /** False when the caller releases this runner's lease itself (an instance that stops releases all at once). */
  #release = true
  /** The agent operations this runner has started (by operationId): a reload restarts only the others. */
  #started = new Set<string>()
  /** The operations in flight when this runner took the world, started after its first step. */
  #restarts: AgentOperation[] | null = null

  constructor (options: RunnerOptions) {
    this.worldId = options.worldId
    this.#o = { stepMs: 1000, leaseMs: 5000, maxInputsPerStep: 256, maxRouteSearchesPerStep: 1000, measureWrites: false, ...options }
    this.#sleep = options.sleep ?? defaultSleep
  }

  get generation (): number { return this.#generation }
  get world (): WorldState | null { return this.#world }
  get map (): WorldMap | null { return this.#map }
  get engineId (): string | null { return this.#world?.engineId ?? null }
  get signal (): AbortSignal { return this.#abort.signal }
  /**
   * What the instance that takes this world over needs to start its runner without reading first (null before
   * this runner took the world): its ids and the last input it has seen processed, which trails the world's own.
   */
  get handoff (): HandedOffWorld | null {
    return this.#world === null ? null : { worldId: this.worldId, engineId: this.#world.engineId, inputsAfter: this.#world.step.processedInputNumber }
  }

  /** Runs until stopped, kicked, or the engine is stopped; resolves with why it ended. */
  start (): Promise<RunnerExit> {
    this.#exit ??= this.#run()
    return this.#exit
  }

  /** `release: false`: the caller frees the lease itself, after the runner has stopped (one write for many). */
  async stop (options: { release?: boolean } = {}): Promise<RunnerExit | null> {
    if (options.release === false) this.#release = false
    this.#abort.abort()
    return this.#exit === null ? null : await this.#exit
  }

  async #acquire (engineId: string): Promise<EngineDoc | null> {
    const engines = this.#o.store.collection<EngineDoc>('engines')
    const now = this.#o.now()
    const lease = { instanceId: this.#o.instanceId, until: now + this.#o.leaseMs }
    // Taking over bumps the generation, which fences off any runner that still thinks it owns the world.
    const take = { $set: { runner: lease }, $inc: { generationNumber: 1 } }
    // Free (runner null: its instanceId reads as null), or held by the stopping instance that handed it over.
    const free: Filter = this.#o.takeFrom !== undefined ? { 'runner.instanceId': { $in: [this.#o.takeFrom, null] } } : { runner: null }
    return await engines.findOneAndUpdate({ _id: engineId, running: true, ...free }, take, { returnDocument: 'after' }) ??
      await engines.findOneAndUpdate({ _id: engineId, running: true, 'runner.until': { $lt: now } }, take, { returnDocument: 'after' })
  }

  async #load (): Promise<WorldDoc> {
    const world = await loadWorld(this.#o.store, this.worldId)
    if (world === null) throw new Error(`world ${this.worldId} not found`)
    return world
  }

  async #run (): Promise<RunnerExit> {
    const { store, log } = this.#o
    // Stopped before it took the world (its instance is shutting down): leave the lease to the others.
    if (this.#abort.signal.aborted) return 'not-acquired'
    const known = this.#o.engineId
    // What the first step needs, read together with the lease when the engine is known: a world taken over in a
    // handoff steps again after one round trip to the store, not three.
    const setup = (): Promise<[unknown, number]> => Promise.all([
      // The rules read the map's size and blocking layer; its ground layers (three quarters of it) are for drawing.
      store.collection('maps').findOne({ worldId: this.worldId }, { fields: GAME_MAP_FIELDS }),
      this.#snapshotEvery > 0 ? store.collection('snapshots').count({ worldId: this.worldId }) : Promise.resolve(-1)
    ])
    const hint = known !== undefined ? this.#o.inputsAfter : undefined
    const [loaded, early, earlySetup, hinted] = await Promise.all([
      this.#load(),
      known !== undefined ? this.#acquire(known) : Promise.resolve(null),
      known !== undefined ? setup() : Promise.resolve(null),
      hint !== undefined ? this.#fetchInputsAfter(known!, hint) : Promise.resolve(null)
    ])
    let world = loaded
    if (known !== undefined && known !== world.engineId) throw new Error(`world ${this.worldId} runs engine ${world.engineId}, not ${known}`)
    const engine = known !== undefined ? early : await this.#acquire(world.engineId)
    if (engine === null) return 'not-acquired'
    this.#generation = engine.generationNumber
    this.#leaseTakenAt = this.#o.now()
    const [mapDoc, snapshots] = earlySetup ?? await setup()
    if (mapDoc === null) throw new Error(`world ${this.worldId} has no map`)
    this.#map = { ...(mapDoc as unknown as WorldMap), bgTiles: [] }
    log.info({ worldId: this.worldId, generation: this.#generation }, 'runner started')
    // A step committed before a crash or a handoff may still owe its side effects (idempotent, so applied again).
    // They are written while the first step runs (that step's own outbox waits for it): a world taken over from an
    // instance that stopped mid-step steps again without waiting for a dozen writes first.
    const owed = world.outbox
    if (owed !== undefined) {
      this.#owed = this.#finishOutbox(world, owed)
      // Awaited (and its error thrown) before the first step's outbox; this only keeps it from going unhandled.
      this.#owed.catch(() => {})
    }
    this.#world = world
    // A world's first run under snapshots starts its chain, so replay can begin at the state it started from.
    if (snapshots === 0) await this.#snapshot('first')
    // Every operation in flight restarts from its agent's marker (not only the last step's): none waits out its
    // timeout. The queue read for that is the first step's own fetch of inputs: read with the world when the
    // caller knew where the engine record's inputs stood (it trails the world, never leads it), else now.
    const processed = world.step.processedInputNumber
    const read = hinted !== null && hint! <= processed ? hinted : await this.#fetchInputs(world)
    // What was read from the hint on, less those the world has processed since the engine record's clock.
    const queued = read.filter((i) => i.number > processed)
    // Not awaited here: the first step waits for it before its outbox, which may record the humans anew.
    this.#humansRecorded = recordHumanPlayers(store, this.worldId, world).catch((err: unknown) => {
      log.warn({ err, worldId: this.worldId }, 'could not record the world\'s humans; callers are checked on the world')
    })
    // Started once the first step has committed: a world taken over in a handoff steps again before its agents'
    // operations (a burst of LLM calls and memory reads on an instance that just took many worlds) compete with it.
    this.#restarts = await operationsToRestart(store, world, this.#o.now(), read.length < this.#o.maxInputsPerStep ? queued : undefined)
    this.#prefetched = queued
    let exit: RunnerExit = 'stopped'
    let nextStepAt = this.#o.now()
    while (!this.#abort.signal.aborted) {
      await this.#sleep(Math.max(0, nextStepAt - this.#o.now()), this.#abort.signal)
      if (this.#abort.signal.aborted) break
      nextStepAt = Math.max(nextStepAt + this.#o.stepMs, this.#o.now())
      const outcome = await this.#step(world)
      if (outcome === 'reload') {
        world = await this.#reload()
        // The step this runner meant to commit has not happened: it is due now, not a step's time later.
        nextStepAt = this.#o.now()
        continue
      }
      if (typeof outcome === 'string') { exit = outcome; break }
      world = outcome
      this.#world = world
    }
    await this.#humansRecorded
    await this.#owed?.catch(() => {})
    // A clean stop gives the lease up at once (fenced by generation), so another instance takes over now.
    if (exit === 'stopped' && this.#release) {
      await store.collection<EngineDoc>('engines').updateOne(
        { _id: world.engineId, generationNumber: this.#generation, 'runner.instanceId': this.#o.instanceId },
        { $set: { runner: null }, $max: clockOf(world.step) }).catch(() => {})
    }
    log.info({ worldId: this.worldId, generation: this.#generation, exit }, 'runner ended')
    return exit
  }

  /**
   * Renews the lease; false when the engine was stopped or kicked (a newer generation owns it). The same write
   * brings the engine record's clock up to the last committed step (`$max`: it never moves back), so a step
   * costs one write to the engine, not two; the record trails the world's own clock by at most a step.
   */
  async #renew (step: StepState): Promise<boolean> {
    const now = this.#o.now()
    const r = await this.#o.store.collection<EngineDoc>('engines').updateOne(
      { _id: this.#world!.engineId, generationNumber: this.#generation, running: true, 'runner.instanceId': this.#o.instanceId },
      { $set: { 'runner.until': now + this.#o.leaseMs }, $max: clockOf(step) })
    return r.matched === 1
  }

  /** The inputs a step takes: the next ones after the world's last processed input, at most a step's worth. */
  async #fetchInputs (world: WorldDoc): Promise<InputDoc[]> {
    return await this.#fetchInputsAfter(world.engineId, world.step.processedInputNumber)
  }

  async #fetchInputsAfter (engineId: string, after: number): Promise<InputDoc[]> {
    return await this.#o.store.collection<InputDoc>('inputs').find(
      { engineId, number: { $gt: after } },
      { sort: { number: 1 }, limit: this.#o.maxInputsPerStep })
  }

  async #step (world: WorldDoc): Promise<WorldDoc | 'reload' | RunnerExit> {
    const { store } = this.#o
    const stepStart = performance.now()
    // The first step after taking the lease needs no renewal while the lease has most of its time left, and takes
    // the inputs read at the start: a world taken over commits its first step one write after its reads.
    const fresh = this.#leaseTakenAt !== null && this.#o.now() - this.#leaseTakenAt < this.#o.leaseMs / 2
    const prefetched = this.#prefetched
    this.#leaseTakenAt = null
    this.#prefetched = null
    // A stop (a SIGTERM's handoff) does not wait for a step that has not committed: nothing of it is written yet,
    // so the renewal and the read of inputs are not waited for either. A renewal that lands after the instance
    // has released its leases matches nothing (the lease is no longer this instance's).
    const signal = this.#abort.signal
    if (!fresh) {
      const renewed = await unlessAborted(this.#renew(world.step), signal)
      if (signal.aborted) return 'stopped'
      if (renewed === false) return 'lost-lease'
    }
    if (signal.aborted) return 'stopped'
    const now = this.#o.now()
    const step = world.step
    // After a stop, a crash or a slow step, skip the gap instead of replaying it tick by tick.
    const from = now - step.currentTime > 2 * this.#o.stepMs ? now - this.#o.stepMs : step.currentTime
    if (now <= from) return world
    const inputs = prefetched ?? await unlessAborted(this.#fetchInputs(world), signal)
    if (inputs === undefined || signal.aborted) return 'stopped'

    const computeStart = performance.now()
    // simulateStep mutates the world in place: keep a copy of the stored shape to diff against.
    const before = structuredClone(storedState(world))
    const result = simulateStep({ world, map: this.#map!, cast: world.cast },
      inputs.map((i) => ({ number: i.number, name: i.name, args: i.args, received: i.received })),
      { from, to: now, maxRouteSearchesPerStep: this.#o.maxRouteSearchesPerStep })

    const processed = result.results.length > 0 ? result.results[result.results.length - 1]!.number : step.processedInputNumber
    const nextStep: StepState = {
      number: step.number + 1,
      generation: this.#generation,
      currentTime: Math.max(step.currentTime, result.currentTime),
      lastStepTs: step.currentTime,
      processedInputNumber: processed
    }
    const outbox = outboxOf(nextStep.number, this.#generation, result.results, result)
    const humans = humansChanged(before as { players: Record<string, Player> }, result.world)
    if (humans !== undefined) outbox.humans = humans
    const diff = diffFields(before, storedState(result.world), WORLD_FIELDS, 3)
    const update: Update = {
      $set: { ...diff.$set, step: nextStep, historicalLocations: result.historicalLocations.map(({ playerId, location }) => ({ playerId, location: Buffer.from(location.buffer, location.byteOffset, location.byteLength) })) },
      ...(Object.keys(diff.$unset).length > 0 ? { $unset: diff.$unset } : {})
    }
    // What replay needs to redo this step, committed with it.
    if (this.#snapshotEvery > 0) update.$set![`stepLog.${nextStep.number}`] = stepRecord(step, nextStep, from)
    const hasOutbox = !outboxIsEmpty(outbox)
    if (hasOutbox) update.$set!.outbox = outbox
    const computeMs = performance.now() - computeStart

    // The commit point: only if no other runner has committed this step, and no newer generation has committed at all.
    const committed = await store.collection<WorldDoc>('worlds').updateOne(
      { _id: world._id, 'step.number': step.number, 'step.generation': { $lte: this.#generation } }, update)
    if (committed.matched === 0) {
      const engine = await store.collection<EngineDoc>('engines').findOne({ _id: world.engineId })
      if (engine === null || !engine.running) return 'engine-stopped'
      if (engine.generationNumber !== this.#generation) return 'lost-lease'
      return 'reload'
    }
    world.step = nextStep
    // What the world owed, and the start's record of the humans, land before this outbox's, which may be newer.
    await this.#settleOwed()
    if (this.#humansRecorded !== null) {
      await this.#humansRecorded
      this.#humansRecorded = null
    }
    // The engine record's clock follows at the next renewal (or now, with the outbox's writes).
    if (hasOutbox) await this.#finishOutbox(world, outbox)
    // A stop leaves the step's operations to the next runner, which restarts them from the agents' markers.
    if (signal.aborted) return 'stopped'
    for (const op of this.#restarts ?? []) this.#startOperation(op, world)
    this.#restarts = null
    for (const op of result.operations) this.#startOperation(op, world)
    if (this.#snapshotEvery > 0 && nextStep.number % this.#snapshotEvery === 0) await this.#snapshot('periodic')
    if (this.#o.onStep !== undefined) {
      const durationMs = performance.now() - stepStart
      // Fewer than a step's worth fetched means every input waiting at the fetch was fetched: what is left of
      // them is the queue, and no count (a query per step per world) is needed.
      const queued = inputs.length < this.#o.maxInputsPerStep
        ? inputs.filter((i) => i.number > processed).length
        : await store.collection('inputs').count({ engineId: world.engineId, number: { $gt: processed } })
      this.#o.onStep({
        worldId: this.worldId,
        step: nextStep.number,
        inputs: result.results.length,
        queued,
        stats: result.stats,
        computeMs,
        durationMs,
        currentTime: nextStep.currentTime,
        ...(this.#o.measureWrites ? { bytesWritten: updateBytes(update), writeBreakdown: writeBreakdown(update) } : {}),
        world
      })
    }
    return world
  }

  /** Waits for what the world owed when this runner took it (see #run), once; throws if writing it failed. */
  async #settleOwed (): Promise<void> {
    const owed = this.#owed
    this.#owed = null
    await owed
  }

  /**
   * Another runner committed the step this one was about to: the previous holder of the lease, whose last commit
   * was still on its way when this one took over (an instance that stops releases its leases at once, without
   * waiting for its steps under way). What that step owes is taken on as at a start: its outbox (idempotent; its
   * runner may be applying it too) and the operations its agents' markers hold that this runner did not start.
   */
  async #reload (): Promise<WorldDoc> {
    // An older outbox lands before a newer one the reloaded world may carry.
    await this.#settleOwed()
    const world = await this.#load()
    this.#world = world
    this.#restarts = null
    if (world.outbox !== undefined) await this.#finishOutbox(world, world.outbox)
    const restart = await operationsToRestart(this.#o.store, world, this.#o.now())
    for (const op of restart) if (!this.#started.has(op.operationId)) this.#startOperation(op, world)
    return world
  }

  #startOperation (op: AgentOperation, world: WorldDoc): void {
    // Only the operations still in flight are worth remembering: the set stays the size of the cast.
    if (this.#started.size >= 256) this.#started = new Set(inFlightOperations(world, this.#o.now()).map((o) => o.operationId))
    this.#started.add(op.operationId)
    this.#o.startOperation?.(op, this)
  }

  get #snapshotEvery (): number { return this.#o.snapshots?.everySteps ?? 0 }

  /** A failed snapshot never fails the step: the next one, or the records on the world, cover its steps. */
  async #snapshot (reason: SnapshotReason): Promise<void> {
    const policy = { keep: 1, ...this.#o.snapshots, maxRouteSearchesPerStep: this.#o.maxRouteSearchesPerStep }
    await takeSnapshot(this.#o.store, this.worldId, reason, policy, this.#o.now()).catch((err: unknown) => {
      this.#o.log.warn({ err, worldId: this.worldId }, 'snapshot failed')
    })
  }

  async #finishOutbox (world: WorldDoc, outbox: Outbox): Promise<void> {
    await applyOutbox(this.#o.store, world, world.step, outbox)
    await this.#o.store.collection<WorldDoc>('worlds').updateOne({ _id: world._id, 'outbox.step': outbox.step }, { $unset: { outbox: 1 } })
    delete world.outbox
  }
}
