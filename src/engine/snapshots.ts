// Snapshots of a world's complete game state at a step, and the per-step records that make every step after a
// snapshot reproducible: together with the inputs they let `townhall world replay` rebuild any kept step.
import type { Store } from '../store/types.ts'
import type { StoredWorldDoc } from './worldDoc.ts'
import type { StepState } from './types.ts'

/**
 * What one committed step consumed, relative to the step before it: [time advanced (ms), inputs consumed] and,
 * when the runner skipped a gap (after a stop or a crash), how far past the previous clock its ticks began.
 */
export type StepRecord = [advancedMs: number, inputs: number, skippedMs?: number]

/** Step records by step number (a string key in both stores). */
export type StepLog = Record<string, StepRecord>

/** The world document's fields that make up the game state, in their stored (compact, store-neutral) form. */
export const STATE_FIELDS = ['nextId', 'rngState', 'players', 'agents', 'conversations'] as const
export type StoredState = Pick<StoredWorldDoc, typeof STATE_FIELDS[number]>

export interface SnapshotDoc {
  /** `<worldId>:<step>`: taking the same snapshot twice (a crash, a race) writes it once. */
  _id: string
  _creationTime: number
  [key: string]: unknown
  worldId: string
  step: number
  /** The world exactly as its document stores it at this step (rngState included). */
  state: StoredState
  /** The engine clock and the input number after this step. */
  currentTime: number
  lastStepTs: number
  processedInputNumber: number
  generation: number
  /** The runner's route-search budget, which a step's outcome depends on. */
  maxRouteSearchesPerStep: number
  /** The step records of the steps since the previous snapshot (moved here from the world document). */
  steps: StepLog
  reason: SnapshotReason
}

export type SnapshotReason = 'first' | 'periodic' | 'demand'

export interface SnapshotPolicy {
  /** A snapshot every this many steps; 0: none, and no step records either. */
  everySteps: number
  /** How many snapshots each world keeps (the oldest go first). */
  keep: number
  maxRouteSearchesPerStep?: number
}

export const DEFAULT_MAX_ROUTE_SEARCHES = 1000

/** The record of a step that went from `prev` to `next`, its ticks starting at `from`. */
export function stepRecord (prev: StepState, next: StepState, from: number): StepRecord {
  const record: StepRecord = [next.currentTime - prev.currentTime, next.processedInputNumber - prev.processedInputNumber]
  if (from !== prev.currentTime) record.push(from - prev.currentTime)
  return record
}

export class SnapshotWorldNotFoundError extends Error {
  constructor (worldId: string) { super(`no world ${worldId}`) }
}

/**
 * Stores the world's committed state as a snapshot, moves the step records up to it from the world document
 * onto it, and drops the snapshots beyond `keep`. Safe while a runner steps the world: it reads one committed
 * document, and the records it removes are only those the snapshot now holds.
 */
export async function takeSnapshot (store: Store, worldId: string, reason: SnapshotReason, policy: Pick<SnapshotPolicy, 'keep' | 'maxRouteSearchesPerStep'>, now: number): Promise<SnapshotDoc> {
  const worlds = store.collection<StoredWorldDoc>('worlds')
  const doc = await worlds.findOne({ _id: worldId })
  if (doc === null) throw new SnapshotWorldNotFoundError(worldId)
  const step = doc.step
  const log = (doc.stepLog ?? {}) as StepLog
  const moved = Object.keys(log).filter((k) => Number(k) <= step.number)
  const snapshot: SnapshotDoc = {
    _id: `${worldId}:${step.number}`,
    _creationTime: now,
    worldId,
    step: step.number,
    state: { nextId: doc.nextId, rngState: doc.rngState, players: doc.players ?? {}, agents: doc.agents ?? {}, conversations: doc.conversations ?? {} },
    currentTime: step.currentTime,
    lastStepTs: step.lastStepTs,
    processedInputNumber: step.processedInputNumber,
    generation: step.generation,
    maxRouteSearchesPerStep: policy.maxRouteSearchesPerStep ?? DEFAULT_MAX_ROUTE_SEARCHES,
    steps: Object.fromEntries(moved.map((k) => [k, log[k]!])),
    reason
  }
  const { _id, ...fields } = snapshot
  const snapshots = store.collection<SnapshotDoc>('snapshots')
  await snapshots.updateOne({ _id }, { $setOnInsert: fields }, { upsert: true })
  // Only once the snapshot holds them: a crash in between leaves the records in both places, which is harmless.
  if (moved.length > 0) await worlds.updateOne({ _id: worldId }, { $unset: Object.fromEntries(moved.map((k) => [`stepLog.${k}`, 1 as const])) })
  await pruneSnapshots(store, worldId, policy.keep)
  return (await snapshots.findOne({ _id }))!
}

/** Deletes all but the `keep` newest snapshots of a world; returns how many went. */
export async function pruneSnapshots (store: Store, worldId: string, keep: number): Promise<number> {
  const snapshots = store.collection<SnapshotDoc>('snapshots')
  const kept = await snapshots.find({ worldId }, { sort: { step: -1 }, skip: Math.max(1, keep) - 1, limit: 1 })
  if (kept.length === 0) return 0
  return await snapshots.deleteMany({ worldId, step: { $lt: kept[0]!.step } })
}

/** A world's snapshots, oldest first. */
export async function listSnapshots (store: Store, worldId: string): Promise<SnapshotDoc[]> {
  return await store.collection<SnapshotDoc>('snapshots').find({ worldId }, { sort: { step: 1 } })
}

/** The oldest input number a world's kept snapshots still need (its inputs after it must stay), or null. */
export async function oldestSnapshotInput (store: Store, worldId: string): Promise<number | null> {
  const oldest = await store.collection<SnapshotDoc>('snapshots').findOne({ worldId }, { sort: { step: 1 } })
  return oldest === null ? null : oldest.processedInputNumber
}
