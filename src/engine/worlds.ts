// World lifecycle: the default world, heartbeat, stop / resume / kick, status, debug players, wipe.
import { randomUUID } from 'node:crypto'
import { createWorld } from '../game/index.ts'
import type { CharacterDescription, WorldMap } from '../game/index.ts'
import { defaultCast, defaultMap } from '../game/data/index.ts'
import type { WorldMap as DefaultMap } from '../game/data/index.ts'
import { TOWNHALL_ASSETS } from '../game/data/mapView.ts'
import { collectionNames } from '../store/collections.ts'
import { DuplicateKeyError } from '../store/errors.ts'
import type { Store } from '../store/types.ts'
import { submitInput } from './inputs.ts'
import type { EngineDoc, InputDoc, WorldStatusDoc } from './types.ts'
import { loadWorld, storedState } from './worldDoc.ts'
import { pausedState } from '../llm/controls.ts'

export const HEARTBEAT_REFRESH_MS = 30_000
export const IDLE_WORLD_MS = 5 * 60_000
export const STALE_ENGINE_MS = 60_000
export const INPUT_RETENTION_MS = 14 * 24 * 3600_000

/** The marker document that names the default world; its fixed id makes creation race-free across instances. */
const DEFAULT_STATUS_ID = 'default'

export interface CreateWorldOptions {
  now: number
  map?: WorldMap
  cast?: CharacterDescription[]
  agents?: number
  seed?: number | string
  isDefault?: boolean
}

/** Creates a world with its engine, map and agents (as createAgent inputs the first step applies). */
export async function createWorldRecords (store: Store, options: CreateWorldOptions): Promise<WorldStatusDoc> {
  const worldId = randomUUID()
  const engineId = randomUUID()
  const cast = options.cast ?? defaultCast
  const status: WorldStatusDoc = {
    _id: options.isDefault === true ? DEFAULT_STATUS_ID : randomUUID(),
    _creationTime: options.now,
    worldId,
    engineId,
    isDefault: options.isDefault === true,
    lastViewed: options.now,
    status: 'running'
  }
  // The status marker goes first: if another instance already made the default world, we stop here.
  await store.collection<WorldStatusDoc>('worldStatus').insertOne(status)
  await ensureWorldRecords(store, status, { ...options, cast })
  return status
}

/** Creates whatever of a world's records is missing (a crash may have stopped creation half-way). */
async function ensureWorldRecords (store: Store, status: WorldStatusDoc, options: CreateWorldOptions): Promise<void> {
  const { worldId, engineId } = status
  const cast = options.cast ?? defaultCast
  const map = options.map ?? defaultMap
  await store.collection<EngineDoc>('engines').updateOne({ _id: engineId }, {
    $setOnInsert: { worldId, running: true, generationNumber: 0, currentTime: options.now, lastStepTs: options.now, processedInputNumber: 0, runner: null }
  }, { upsert: true })
  await store.collection('maps').updateOne({ worldId }, { $setOnInsert: aiTownMap(map) }, { upsert: true })
  if (options.map === undefined) await upgradeDefaultMap(store, worldId)
  const fresh = createWorld(options.seed ?? worldId)
  const created = await store.collection('worlds').updateOne({ _id: worldId }, {
    $setOnInsert: {
      ...storedState(fresh), engineId, cast, step: { number: 0, generation: 0, currentTime: options.now, lastStepTs: options.now, processedInputNumber: 0 }
    }
  }, { upsert: true })
  if (created.upsertedId !== null) {
    const agents = Math.min(options.agents ?? cast.length, cast.length)
    for (let i = 0; i < agents; i++) await submitInput(store, engineId, 'createAgent', { descriptionIndex: i }, { now: () => options.now })
  }
}

/** AI Town's serialized map; a bare game map (no tileset) gets empty drawing fields. */
function aiTownMap (map: WorldMap): Record<string, unknown> {
  const drawn = map as Partial<DefaultMap>
  return {
    width: map.width,
    height: map.height,
    tileDim: map.tileDim,
    bgTiles: map.bgTiles,
    objectTiles: map.objectTiles,
    tileSetUrl: drawn.tileSetUrl ?? '',
    tileSetDimX: drawn.tileSetDimX ?? map.width * map.tileDim,
    tileSetDimY: drawn.tileSetDimY ?? map.height * map.tileDim,
    animatedSprites: drawn.animatedSprites ?? []
  }
}

/**
 * A world made with an older townhall holds the default town drawn differently (legend colours and no
 * tileset, or an older version of our tileset): redraw it with the current tiles. The town's size is the
 * same and only drawing changes, so the walkable layout stays; maps from elsewhere (an import) keep theirs.
 */
async function upgradeDefaultMap (store: Store, worldId: string): Promise<void> {
  const stored = await store.collection('maps').findOne({ worldId })
  if (stored === null || stored.width !== defaultMap.width || stored.height !== defaultMap.height) return
  const url = stored.tileSetUrl
  const ours = url === undefined || url === '' || (typeof url === 'string' && url.startsWith(TOWNHALL_ASSETS))
  if (!ours || (url === defaultMap.tileSetUrl && stored.legend === undefined)) return
  const { width: _w, height: _h, ...drawing } = aiTownMap(defaultMap)
  await store.collection('maps').updateOne({ worldId }, { $set: drawing, $unset: { legend: true } })
}

/** Returns the default world, creating it (with the default map and cast) on first start. */
export async function ensureDefaultWorld (store: Store, now: number, options: Partial<CreateWorldOptions> = {}): Promise<WorldStatusDoc> {
  const existing = await store.collection<WorldStatusDoc>('worldStatus').findOne({ _id: DEFAULT_STATUS_ID })
  if (existing !== null) {
    await ensureWorldRecords(store, existing, { now, ...options })
    return existing
  }
  try {
    return await createWorldRecords(store, { now, ...options, isDefault: true })
  } catch (err) {
    if (!(err instanceof DuplicateKeyError)) throw err
    return (await store.collection<WorldStatusDoc>('worldStatus').findOne({ _id: DEFAULT_STATUS_ID }))!
  }
}

export class WorldNotFoundError extends Error {
  readonly code = 'TOWNHALL_ERR_WORLD_NOT_FOUND'
  readonly statusCode = 404
  constructor (worldId: string) {
    super(`no world ${worldId}`)
  }
}

export async function worldStatus (store: Store, worldId?: string): Promise<WorldStatusDoc> {
  const status = await store.collection<WorldStatusDoc>('worldStatus').findOne(worldId === undefined ? { isDefault: true } : { worldId })
  if (status === null) throw new WorldNotFoundError(worldId ?? 'default')
  return status
}

/** A client is watching: refresh lastViewed (at most every 30 s) and wake an inactive world. */
export async function heartbeat (store: Store, worldId: string, now: number): Promise<WorldStatusDoc> {
  const status = await worldStatus(store, worldId)
  if (status.status === 'inactive') {
    await setRunning(store, status, 'running', now)
  } else if (now - status.lastViewed > HEARTBEAT_REFRESH_MS) {
    await store.collection('worldStatus').updateOne({ _id: status._id }, { $max: { lastViewed: now } })
  }
  return await worldStatus(store, worldId)
}

async function setRunning (store: Store, status: WorldStatusDoc, value: 'running' | 'stoppedByDeveloper' | 'inactive', now: number): Promise<void> {
  const running = value === 'running'
  await store.collection('worldStatus').updateOne({ _id: status._id }, { $set: { status: value, ...(running ? { lastViewed: now } : {}) } })
  await store.collection<EngineDoc>('engines').updateOne({ _id: status.engineId }, { $set: { running } })
}

export async function stopWorld (store: Store, worldId: string | undefined, now: number): Promise<WorldStatusDoc> {
  const status = await worldStatus(store, worldId)
  await setRunning(store, status, 'stoppedByDeveloper', now)
  return await worldStatus(store, status.worldId)
}

export async function resumeWorld (store: Store, worldId: string | undefined, now: number): Promise<WorldStatusDoc> {
  const status = await worldStatus(store, worldId)
  await setRunning(store, status, 'running', now)
  return await worldStatus(store, status.worldId)
}

/** Marks an idle world inactive (never one an operator stopped). */
export async function markInactive (store: Store, status: WorldStatusDoc, now: number): Promise<void> {
  const r = await store.collection('worldStatus').updateOne(
    { _id: status._id, status: 'running', lastViewed: { $lt: now - IDLE_WORLD_MS } }, { $set: { status: 'inactive' } })
  if (r.matched === 1) await store.collection<EngineDoc>('engines').updateOne({ _id: status.engineId }, { $set: { running: false } })
}

/** Fences off the current runner (new generation, lease released) so a fresh one takes over. */
export async function kickWorld (store: Store, worldId: string | undefined): Promise<EngineDoc> {
  const status = await worldStatus(store, worldId)
  const engine = await store.collection<EngineDoc>('engines').findOneAndUpdate({ _id: status.engineId },
    { $inc: { generationNumber: 1 }, $set: { runner: null } }, { returnDocument: 'after' })
  return engine!
}

export async function sendInput (store: Store, worldId: string | undefined, name: string, args: unknown, now: () => number): Promise<InputDoc> {
  const status = await worldStatus(store, worldId)
  return await submitInput(store, status.engineId, name, args, { now })
}

export async function addDebugPlayers (store: Store, worldId: string | undefined, count: number, now: () => number): Promise<InputDoc[]> {
  const created: InputDoc[] = []
  for (let i = 0; i < count; i++) {
    created.push(await sendInput(store, worldId, 'join', {
      name: `Visitor ${i + 1}`, character: `f${(i % 8) + 1}`, description: 'A debug player who wandered into town.'
    }, now))
  }
  return created
}

export interface WorldSummary {
  worldId: string
  engineId: string
  status: WorldStatusDoc['status']
  isDefault: boolean
  lastViewed: number
  engine: { running: boolean, generationNumber: number, currentTime: number, processedInputNumber: number, runner: EngineDoc['runner'] }
  players: number
  humans: number
  agents: number
  moving: number
  conversations: Array<{ id: string, participants: Array<{ name: string, status: string }>, numMessages: number }>
  pendingInputs: number
  messages: number
  /** The world has spent its LLM budget (hour or day); agents wander without conversations. */
  budgetExceeded: boolean
  /** LLM use is paused for this world or for the whole deployment. */
  llmPaused: boolean
}

export async function summarizeWorld (store: Store, worldId?: string): Promise<WorldSummary> {
  const status = await worldStatus(store, worldId)
  const engine = await store.collection<EngineDoc>('engines').findOne({ _id: status.engineId })
  const world = await loadWorld(store, status.worldId)
  if (engine === null || world === null) throw new WorldNotFoundError(status.worldId)
  const names = new Map((await store.collection('playerDescriptions').find({ worldId: status.worldId }))
    .map((d) => [d.playerId as string, d.name as string]))
  return {
    worldId: status.worldId,
    engineId: status.engineId,
    status: status.status,
    isDefault: status.isDefault,
    lastViewed: status.lastViewed,
    engine: { running: engine.running, generationNumber: engine.generationNumber, currentTime: world.step.currentTime, processedInputNumber: world.step.processedInputNumber, runner: engine.runner },
    players: world.players.length,
    humans: world.players.filter((p) => p.human !== undefined).length,
    agents: world.agents.length,
    moving: world.players.filter((p) => p.pathfinding !== undefined).length,
    conversations: world.conversations.map((c) => ({
      id: c.id,
      participants: c.participants.map((m) => ({ name: names.get(m.playerId) ?? m.playerId, status: m.status })),
      numMessages: c.numMessages
    })),
    pendingInputs: await store.collection('inputs').count({ engineId: status.engineId, number: { $gt: world.step.processedInputNumber } }),
    messages: await store.collection('messages').count({ worldId: status.worldId }),
    budgetExceeded: (status as { budgetExceeded?: boolean }).budgetExceeded === true,
    llmPaused: await pausedState(store, status.worldId).then((p) => p.deployment || p.world)
  }
}

/** Deletes processed inputs older than the retention, always keeping each engine's newest (it anchors numbering). */
export async function vacuumInputs (store: Store, now: number): Promise<number> {
  let removed = 0
  for (const engine of await store.collection<EngineDoc>('engines').find({})) {
    const newest = await store.collection<InputDoc>('inputs').findOne({ engineId: engine._id }, { sort: { number: -1 } })
    if (newest === null) continue
    removed += await store.collection('inputs').deleteMany({
      engineId: engine._id, received: { $lt: now - INPUT_RETENTION_MS }, number: { $lt: Math.min(newest.number, engine.processedInputNumber + 1) }
    })
  }
  return removed
}

/** Removes all data except the embeddings cache (which is costly to rebuild and never wrong). */
export async function wipe (store: Store): Promise<Record<string, number>> {
  const removed: Record<string, number> = {}
  for (const name of collectionNames) {
    if (name === 'embeddingsCache') continue
    removed[name] = await store.collection(name).deleteMany({})
  }
  return removed
}
