// Rebuilds a world from a snapshot and the inputs after it, step by step, as its runner did, and compares the
// result with every later snapshot and with the committed world: the game core is pure and seeded, so any
// difference is a bug (or damaged data), and the first differing field says where.
import { simulateStep } from '../game/index.ts'
import type { WorldMap } from '../game/index.ts'
import type { Store } from '../store/types.ts'
import type { InputDoc } from './types.ts'
import { storedState, worldFromStored, type StoredWorldDoc } from './worldDoc.ts'
import { DEFAULT_MAX_ROUTE_SEARCHES, listSnapshots, STATE_FIELDS, type SnapshotDoc, type StepLog } from './snapshots.ts'

/** An unknown world, or a step outside what the kept snapshots and step records cover (exit 2). */
export class ReplayRangeError extends Error {}

export interface ReplayOptions {
  /** Start from the snapshot at or before this step (default: the oldest kept snapshot). */
  fromStep?: number
  /** Stop after this step (default: the committed step). */
  toStep?: number
  /** Compare with every later snapshot and the committed world; without, only rebuild. */
  verify: boolean
  onProgress?: (line: string) => void
}

export interface Difference {
  path: string
  expected: unknown
  actual: unknown
}

export interface ReplayCheckpoint {
  step: number
  against: 'snapshot' | 'committed world' | 'step record'
}

export interface ReplayReport {
  worldId: string
  fromStep: number
  toStep: number
  steps: number
  /** What the rebuilt state was compared with, in order (with verify). */
  checked: ReplayCheckpoint[]
  /** The first difference and where it was found; absent when identical. */
  divergence?: ReplayCheckpoint & Difference
  /** The rebuilt state at toStep, in the stored form. */
  state: Record<string, unknown>
  /** The engine clock and input number after toStep. */
  clock: Comparable['step']
  ms: number
}

/** What a checkpoint holds: the stored state plus the step's clock and input number. */
interface Comparable {
  state: Record<string, unknown>
  step: { currentTime: number, lastStepTs: number, processedInputNumber: number }
}

function isObject (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The first difference between two stored values, depth first in the expected value's key order; a missing key equals undefined. */
export function firstDifference (expected: unknown, actual: unknown, path = ''): Difference | null {
  if (Object.is(expected, actual)) return null
  const here = (key: string | number): string => path === '' ? String(key) : `${path}.${key}`
  if (Array.isArray(expected) && Array.isArray(actual)) {
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      const d = firstDifference(expected[i], actual[i], here(i))
      if (d !== null) return d
    }
    return null
  }
  if (isObject(expected) && isObject(actual)) {
    for (const key of Object.keys(expected)) {
      const d = firstDifference(expected[key], actual[key], here(key))
      if (d !== null) return d
    }
    for (const key of Object.keys(actual)) {
      if (!Object.hasOwn(expected, key) && actual[key] !== undefined) return { path: here(key), expected: undefined, actual: actual[key] }
    }
    return null
  }
  // -0 and 0 store alike in JSON (the embedded store): the same number.
  if (typeof expected === 'number' && typeof actual === 'number' && expected === actual) return null
  return { path, expected, actual }
}

// The entities first: a field of a player says more than the id counter or the rng a divergence also moved.
const COMPARE_ORDER = ['players', 'agents', 'conversations', 'nextId', 'rngState'] as const

function compare (expected: Comparable, actual: Comparable): Difference | null {
  for (const field of COMPARE_ORDER) {
    const d = firstDifference(expected.state[field], actual.state[field], field)
    if (d !== null) return d
  }
  return firstDifference(expected.step, actual.step, 'step')
}

/**
 * A stored state in the form the runner writes today: an entity an imported or older world still holds in the
 * object forms (unpacked routes and markers) and that no step has rewritten compares equal to its packed self.
 */
function stateOf (doc: Pick<StoredWorldDoc, typeof STATE_FIELDS[number]>): Record<string, unknown> {
  const fields = Object.fromEntries(STATE_FIELDS.map((f) => [f, doc[f]]))
  return storedState(worldFromStored(structuredClone(fields) as StoredWorldDoc))
}

/** Rebuilds (and with `verify` checks) a world over its kept steps; throws ReplayRangeError for a bad world or range. */
export async function replayWorld (store: Store, worldId: string, options: ReplayOptions): Promise<ReplayReport> {
  const started = performance.now()
  const progress = options.onProgress ?? (() => {})
  // The world first, then the snapshots: step records a snapshot moves off the world after this read are on a
  // snapshot stored before it was moved, so the snapshots read next hold them.
  const doc = await store.collection<StoredWorldDoc>('worlds').findOne({ _id: worldId })
  if (doc === null) throw new ReplayRangeError(`no world ${worldId} (see townhall world list)`)
  const snapshots = await listSnapshots(store, worldId)
  if (snapshots.length === 0) throw new ReplayRangeError(`world ${worldId} has no snapshots to replay from (SNAPSHOT_EVERY_STEPS, or townhall world snapshot ${worldId})`)
  const committed = doc.step.number
  const oldest = snapshots[0]!.step
  const range = `the kept range is steps ${oldest} to ${committed}`
  const fromStep = options.fromStep ?? oldest
  const toStep = options.toStep ?? committed
  if (fromStep < oldest || fromStep > committed) throw new ReplayRangeError(`--from-step ${fromStep} is outside what world ${worldId} keeps: ${range}`)
  if (toStep < fromStep || toStep > committed) throw new ReplayRangeError(`--to-step ${toStep} is outside ${fromStep} to ${committed}: ${range}`)
  const base = snapshots.filter((s) => s.step <= fromStep).at(-1)!

  const records: StepLog = {}
  for (const s of snapshots) Object.assign(records, s.steps)
  Object.assign(records, doc.stepLog ?? {})
  for (let n = base.step + 1; n <= toStep; n++) {
    if (records[n] === undefined) throw new ReplayRangeError(`step ${n} of world ${worldId} has no step record (it ran with snapshots off): replay can reach step ${n - 1} from step ${base.step}`)
  }
  const checkpoints = new Map<number, SnapshotDoc>(snapshots.filter((s) => s.step > base.step && s.step <= toStep).map((s) => [s.step, s]))

  const mapDoc = await store.collection('maps').findOne({ worldId })
  if (mapDoc === null) throw new ReplayRangeError(`world ${worldId} has no map`)
  const map = mapDoc as unknown as WorldMap
  const world = worldFromStored({ ...doc, ...structuredClone(base.state) } as StoredWorldDoc)
  const clock = { currentTime: base.currentTime, lastStepTs: base.lastStepTs, processedInputNumber: base.processedInputNumber }
  const inputs = store.collection<InputDoc>('inputs')
  const report: ReplayReport = { worldId, fromStep: base.step, toStep, steps: 0, checked: [], state: {}, clock: { ...clock }, ms: 0 }
  progress(`replaying world ${worldId} from the snapshot at step ${base.step} to step ${toStep} (${toStep - base.step} steps)`)
  // The route budget a step ran with: the snapshot before it says (runner option, not game state).
  let budget = base.maxRouteSearchesPerStep ?? DEFAULT_MAX_ROUTE_SEARCHES
  let lastProgress = performance.now()

  for (let n = base.step + 1; n <= toStep; n++) {
    const [advancedMs, consumed, skippedMs] = records[n]!
    const from = clock.currentTime + (skippedMs ?? 0)
    const to = clock.currentTime + advancedMs
    const batch = consumed === 0
      ? []
      : await inputs.find({ engineId: doc.engineId, number: { $gt: clock.processedInputNumber, $lte: clock.processedInputNumber + consumed } }, { sort: { number: 1 } })
    if (batch.length !== consumed) {
      throw new ReplayRangeError(`step ${n} consumed inputs ${clock.processedInputNumber + 1} to ${clock.processedInputNumber + consumed}, but only ${batch.length} of them are stored (vacuumed?)`)
    }
    const result = simulateStep({ world, map, cast: doc.cast },
      batch.map((i) => ({ number: i.number, name: i.name, args: i.args, received: i.received })),
      { from, to, maxRouteSearchesPerStep: budget })
    const recorded = clock.processedInputNumber + consumed
    const processed = result.results.length > 0 ? result.results[result.results.length - 1]!.number : clock.processedInputNumber
    clock.lastStepTs = clock.currentTime
    clock.currentTime = Math.max(clock.currentTime, result.currentTime)
    clock.processedInputNumber = processed
    report.steps++
    const snapshot = checkpoints.get(n)
    if (snapshot !== undefined) budget = snapshot.maxRouteSearchesPerStep ?? budget
    if (!options.verify) continue
    const against: Array<[ReplayCheckpoint, Comparable]> = []
    if (snapshot !== undefined) against.push([{ step: n, against: 'snapshot' }, { state: stateOf(snapshot.state), step: pick(snapshot) }])
    if (n === committed) against.push([{ step: n, against: 'committed world' }, { state: stateOf(doc), step: pick(doc.step) }])
    // A step that consumed other inputs than its record says has diverged, whether or not a checkpoint follows.
    if (processed !== recorded) report.divergence = { step: n, against: 'step record', path: 'step.processedInputNumber', expected: recorded, actual: processed }
    for (const [checkpoint, expected] of against) {
      if (report.divergence !== undefined) break
      const difference = compare(expected, { state: storedState(world), step: { ...clock } })
      report.checked.push(checkpoint)
      if (difference !== null) report.divergence = { ...checkpoint, ...difference }
      else progress(`step ${n}/${toStep}: identical to the ${checkpoint.against}`)
    }
    if (report.divergence !== undefined) break
    if (performance.now() - lastProgress > 1000) {
      lastProgress = performance.now()
      progress(`step ${n}/${toStep}`)
    }
  }
  report.state = storedState(world)
  report.clock = { ...clock }
  report.ms = performance.now() - started
  return report
}

function pick (step: { currentTime: number, lastStepTs: number, processedInputNumber: number }): Comparable['step'] {
  return { currentTime: step.currentTime, lastStepTs: step.lastStepTs, processedInputNumber: step.processedInputNumber }
}
