// World lifecycle: the default world, heartbeat, stop / resume / kick, status, debug players, wipe;
// operator-made worlds: create, list, archive, delete.
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
import { parseCast } from '../worlds/cast.ts'
import { parseMap } from '../worlds/map.ts'
import { fail, integer, text } from '../worlds/validate.ts'
import { pausedState } from '../llm/controls.ts'
import { oldestSnapshotInput } from './snapshots.ts'

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
  name?: string
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
    status: 'running',
    name: options.name ?? (options.isDefault === true ? 'Brackenford' : `world ${worldId.slice(0, 8)}`)
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
    // A default world being deleted is not brought back half-way; once its marker is gone, a fresh one is made.
    if (existing.status !== 'deleting') await ensureWorldRecords(store, existing, { now, ...options })
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
  assertWritable(status)
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
  assertWritable(status)
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

/**
 * Deletes processed inputs older than the retention, always keeping each engine's newest (it anchors numbering)
 * and every input a kept snapshot still needs to be replayed from (those after its input number).
 */
export async function vacuumInputs (store: Store, now: number): Promise<number> {
  let removed = 0
  for (const engine of await store.collection<EngineDoc>('engines').find({})) {
    const newest = await store.collection<InputDoc>('inputs').findOne({ engineId: engine._id }, { sort: { number: -1 } })
    if (newest === null) continue
    const replayable = await oldestSnapshotInput(store, engine.worldId) ?? Infinity
    removed += await store.collection('inputs').deleteMany({
      engineId: engine._id, received: { $lt: now - INPUT_RETENTION_MS }, number: { $lt: Math.min(newest.number, engine.processedInputNumber + 1, replayable + 1) }
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

export class WorldReadOnlyError extends Error {
  readonly code = 'TOWNHALL_ERR_WORLD_READ_ONLY'
  readonly statusCode = 409
  constructor (status: WorldStatusDoc) {
    super(status.status === 'archived'
      ? `world ${status.worldId} is archived: it is read-only (no inputs, joins, stops or resumes)`
      : status.status === 'forking'
        ? `world ${status.worldId} is a fork still being made (if its making was cut short, delete it and fork again)`
        : `world ${status.worldId} is being deleted`)
  }
}

/** Throws WorldReadOnlyError for an archived world, one being deleted, or a fork being made. */
export function assertWritable (status: WorldStatusDoc): void {
  if (status.status === 'archived' || status.status === 'deleting' || status.status === 'forking') throw new WorldReadOnlyError(status)
}

/** Refuses an input for an engine whose world is archived or being deleted (client-facing functions call this). */
export async function assertEngineWritable (store: Store, engineId: string): Promise<void> {
  const status = await store.collection<WorldStatusDoc>('worldStatus').findOne({ engineId })
  if (status !== null) assertWritable(status)
}

export interface WorldListItem {
  worldId: string
  engineId: string
  name: string
  status: WorldStatusDoc['status']
  isDefault: boolean
  createdAt: number
  lastViewed: number
  forkedFrom?: { worldId: string, step: number }
}

export function worldListItem (s: WorldStatusDoc): WorldListItem {
  const forkedFrom = s.forkedFrom
  return {
    worldId: s.worldId,
    engineId: s.engineId,
    name: s.name ?? (s.isDefault ? 'default world' : `world ${s.worldId.slice(0, 8)}`),
    status: s.status,
    isDefault: s.isDefault,
    createdAt: s._creationTime,
    lastViewed: s.lastViewed,
    ...(forkedFrom !== undefined ? { forkedFrom: { worldId: forkedFrom.worldId, step: forkedFrom.step } } : {})
  }
}

/** Every world, oldest first. */
export async function listWorlds (store: Store): Promise<WorldListItem[]> {
  const all = await store.collection<WorldStatusDoc>('worldStatus').find({}, { sort: { _creationTime: 1 } })
  return all.map(worldListItem)
}

/** Stops a world for good and keeps its data; it is read-only from then on. Idempotent. */
export async function archiveWorld (store: Store, worldId: string): Promise<WorldStatusDoc> {
  const status = await worldStatus(store, worldId)
  if (status.status === 'deleting') throw new WorldReadOnlyError(status)
  await store.collection('worldStatus').updateOne({ _id: status._id }, { $set: { status: 'archived' } })
  // running: false ends the current runner at its next lease renewal; the supervisor never takes it again.
  await store.collection<EngineDoc>('engines').updateOne({ _id: status.engineId }, { $set: { running: false } })
  return await worldStatus(store, worldId)
}

export interface DeleteWorldOptions {
  /** The running instance's vector index, so the world's memory vectors leave it at once (a CLI has none). */
  index?: { remove: (ids: string[]) => Promise<void> }
  /** Called after each stage; the kill test uses it to know where it stopped the process. */
  onStage?: (stage: string, removed: number) => void | Promise<void>
}

export interface DeleteWorldReport {
  worldId: string
  removed: Record<string, number>
}

/**
 * Deletes a world and everything it owns. The world is marked 'deleting' first and its status document goes last,
 * and each stage deletes by a key that the later stages still hold, so a rerun after a crash finishes the job.
 */
export async function deleteWorld (store: Store, worldId: string, options: DeleteWorldOptions = {}): Promise<DeleteWorldReport> {
  const status = await worldStatus(store, worldId)
  const { engineId } = status
  const removed: Record<string, number> = {}
  const stage = async (name: string, n: number): Promise<void> => {
    removed[name] = (removed[name] ?? 0) + n
    await options.onStage?.(name, n)
  }
  await store.collection('worldStatus').updateOne({ _id: status._id }, { $set: { status: 'deleting' } })
  // A new generation and no lease: a runner still stepping this world is fenced off.
  await store.collection<EngineDoc>('engines').updateOne({ _id: engineId }, { $set: { running: false, runner: null }, $inc: { generationNumber: 1 } })
  await stage('mark', 0)

  // Memories carry their world, so they go by worldId alone (vectors first: a rerun still finds what is left).
  const vectors: string[] = []
  for await (const e of store.collection('memoryEmbeddings').iterate({ worldId }, { batchSize: 2000 })) vectors.push(e._id)
  if (vectors.length > 0) await options.index?.remove(vectors)
  await stage('memories', await store.collection('memories').deleteMany({ worldId }))
  await stage('memoryEmbeddings', await store.collection('memoryEmbeddings').deleteMany({ worldId }))
  const owned = async (): Promise<void> => {
    await stage('inputs', await store.collection('inputs').deleteMany({ engineId }))
    for (const name of ['messages', 'snapshots', 'participatedTogether', 'archivedConversations', 'archivedAgents', 'agentDescriptions', 'llmUsage', 'maps', 'archivedPlayers', 'playerDescriptions'] as const) {
      await stage(name, await store.collection(name).deleteMany({ worldId }))
    }
  }
  await owned()
  await stage('worlds', await store.collection('worlds').deleteMany({ _id: worldId }))
  await stage('engines', await store.collection('engines').deleteMany({ _id: engineId }))
  // A runner fenced off mid-step may have applied its last step's outbox after the first pass; with the world
  // document gone no step commits any more, so a second pass leaves nothing behind.
  await owned()
  // The world's LLM pause and budget overrides (src/llm/controls.ts) go with it.
  await stage('llmControls', await store.collection('llmControls').deleteMany({ _id: `world:${worldId}` }))
  await stage('worldStatus', await store.collection('worldStatus').deleteMany({ _id: status._id }))
  return { worldId, removed }
}

export interface NewWorld {
  name?: unknown
  /** A map in any accepted shape (src/worlds/map.ts); default: townhall's town. */
  map?: unknown
  /** A cast (src/worlds/cast.ts); default: townhall's eight townsfolk. */
  cast?: unknown
  agents?: unknown
  seed?: unknown
}

/** Checks everything first (WorldFileError naming the field; nothing written), then creates the world, running. */
export async function createWorldFrom (store: Store, input: NewWorld, now: number): Promise<WorldStatusDoc> {
  const name = input.name === undefined ? undefined : text(input.name, 'name', 100)
  const map = input.map === undefined ? undefined : parseMap(input.map)
  const cast = input.cast === undefined ? defaultCast : parseCast(input.cast)
  const agents = input.agents === undefined ? cast.length : integer(input.agents, 'agents', 0, cast.length)
  let seed: number | string | undefined
  if (input.seed !== undefined) {
    if (typeof input.seed === 'string' && input.seed !== '' && input.seed.length <= 200) seed = input.seed
    else if (typeof input.seed === 'number' && Number.isSafeInteger(input.seed)) seed = input.seed
    else fail('seed', `expected an integer or a string of 1 to 200 characters, got ${JSON.stringify(input.seed)}`)
  }
  return await createWorldRecords(store, { now, name, map, cast, agents, seed })
}
