// A fork: a new world made from another world's state at a kept step (rebuilt by replay), with its own ids,
// engine, input numbering and copies of everything the world owned by then: descriptions, archived rows,
// the messages of its conversations and its agents' memories. The original is only read.
import { randomUUID } from 'node:crypto'
import type { Agent, Conversation } from '../game/index.ts'
import type { MemoryDoc, MemoryEmbeddingDoc } from '../agents/memory.ts'
import type { Doc, Store } from '../store/types.ts'
import type { MemoryVector } from '../vector/types.ts'
import { replayWorld, ReplayRangeError } from './replay.ts'
import { listSnapshots, takeSnapshot } from './snapshots.ts'
import type { EngineDoc, MessageDoc, WorldStatusDoc } from './types.ts'
import { worldFromStored, type StoredWorldDoc } from './worldDoc.ts'
import { worldListItem, worldStatus, WorldReadOnlyError } from './worlds.ts'

/** A step the original world cannot be rebuilt at (outside its kept snapshots and step records): a 400, exit 2. */
export class ForkStepError extends ReplayRangeError {
  readonly code = 'TOWNHALL_ERR_FORK_STEP'
  readonly statusCode = 400
}

export interface ForkOptions {
  atStep: number
  /** Default: "<original name> (fork at step N)". */
  name?: string
  now: number
  /** The running instance's vector index, told about the copied memory vectors (a CLI has none: the next start rebuilds). */
  index?: { upsert: (items: MemoryVector[]) => Promise<void> }
}

const BATCH = 1000

/** The number in a game id ("c:12" → 12); ids are handed out from the world's nextId, so smaller ones existed earlier. */
function idNumber (id: string): number | null {
  const m = /^[a-z]+:(\d+)$/.exec(id)
  return m === null ? null : Number(m[1])
}

/** Whether a game id was handed out by the time the world's counter stood at `nextId` (ids of another shape: kept). */
function existedBy (id: unknown, nextId: number): boolean {
  if (typeof id !== 'string') return false
  const n = idNumber(id)
  return n === null || n < nextId
}

/** A document re-owned by the fork: a new _id, the fork's worldId, the rest (its _creationTime too) as it was. */
function reowned<T extends Doc> (doc: T, worldId: string, _id: string = randomUUID()): T {
  return { ...doc, _id, worldId }
}

async function insertAll (store: Store, name: Parameters<Store['collection']>[0], docs: Doc[]): Promise<void> {
  for (let i = 0; i < docs.length; i += BATCH) await store.collection(name).insertMany(docs.slice(i, i + BATCH))
}

/**
 * The memories a player had at the step: in the order they were made, up to the first conversation memory whose
 * conversation had not been remembered by then (its agent still had it to do, or was doing it). An agent remembers
 * one conversation at a time and before its next one, so everything after that memory came later; the reflections
 * a remembering led to follow its memory.
 */
function memoriesAtStep (memories: MemoryDoc[], remembered: Set<string>): MemoryDoc[] {
  const out: MemoryDoc[] = []
  for (const m of memories) {
    if (m.data?.type === 'conversation' && !remembered.has(m.data.conversationId)) break
    out.push(m)
  }
  return out
}

/** The conversations each player had remembered at the step: those ended by then, less any still to remember or being remembered. */
function rememberedBy (agents: Agent[], ended: Set<string>, playerId: string): Set<string> {
  const agent = agents.find((a) => a.playerId === playerId)
  const pending = new Set<string>()
  if (agent?.toRemember !== undefined) pending.add(agent.toRemember)
  if (agent?.inProgressOperation?.name === 'rememberConversation' && agent.inProgressOperation.conversationId !== undefined) pending.add(agent.inProgressOperation.conversationId)
  return new Set([...ended].filter((c) => !pending.has(c)))
}

/**
 * Makes a new world from `worldId` as it was after step `atStep`. Its worldStatus is written first as 'forking'
 * (never run, refused inputs, and deletable by deleteWorld like any world) and turned 'running' last, once every
 * record is in place. The fork's agents' in-flight markers restart when its runner starts, as after any restart,
 * or time out in the fork's first step when they are older than the game's operation timeout.
 */
export async function forkWorld (store: Store, worldId: string, options: ForkOptions): Promise<WorldStatusDoc> {
  const { atStep, now } = options
  const original = await worldStatus(store, worldId)
  if (original.status === 'deleting' || original.status === 'forking') throw new WorldReadOnlyError(original)
  const doc = await store.collection<StoredWorldDoc>('worlds').findOne({ _id: worldId })
  const snapshots = await listSnapshots(store, worldId)
  if (doc === null || snapshots.length === 0) {
    throw new ForkStepError(`world ${worldId} has no snapshots to fork from (SNAPSHOT_EVERY_STEPS, or townhall world snapshot ${worldId})`)
  }
  if (atStep < snapshots[0]!.step || atStep > doc.step.number) {
    throw new ForkStepError(`step ${atStep} is outside what world ${worldId} keeps: the kept range is steps ${snapshots[0]!.step} to ${doc.step.number}`)
  }
  let replay
  try {
    replay = await replayWorld(store, worldId, { fromStep: atStep, toStep: atStep, verify: false })
  } catch (err) {
    if (err instanceof ReplayRangeError) throw new ForkStepError(err.message)
    throw err
  }
  const state = replay.state as Pick<StoredWorldDoc, 'nextId' | 'rngState' | 'players' | 'agents' | 'conversations'>
  const game = worldFromStored({ ...doc, ...structuredClone(state) } as StoredWorldDoc)
  const { currentTime, lastStepTs } = replay.clock

  const forkId = randomUUID()
  const engineId = randomUUID()
  const status: WorldStatusDoc = {
    _id: randomUUID(),
    _creationTime: now,
    worldId: forkId,
    engineId,
    isDefault: false,
    lastViewed: now,
    status: 'forking',
    name: options.name ?? `${worldListItem(original).name} (fork at step ${atStep})`,
    forkedFrom: { worldId, step: atStep }
  }
  await store.collection<WorldStatusDoc>('worldStatus').insertOne(status)
  // Not running until the end: no instance takes a half-made fork.
  await store.collection<EngineDoc>('engines').insertOne({
    _id: engineId, worldId: forkId, running: false, generationNumber: 0, currentTime, lastStepTs, processedInputNumber: 0, runner: null
  })
  const map = await store.collection('maps').findOne({ worldId })
  if (map !== null) await store.collection('maps').insertOne(reowned(map, forkId))
  // The fork numbers its own inputs from 1: its step state says none is processed yet.
  await store.collection('worlds').insertOne({
    _id: forkId, ...state, engineId, cast: doc.cast, step: { number: atStep, generation: 0, currentTime, lastStepTs, processedInputNumber: 0 }
  })

  const live = new Set<string>([...game.players.map((p) => p.id), ...game.agents.map((a) => a.id), ...game.conversations.map((c) => c.id)])
  const archivedBy = (row: Doc): boolean => existedBy(row.id, game.nextId) && !live.has(row.id as string)
  const copy = async (name: 'playerDescriptions' | 'agentDescriptions' | 'archivedPlayers' | 'archivedAgents' | 'archivedConversations' | 'participatedTogether', keep: (row: Doc) => boolean): Promise<Doc[]> => {
    const rows = (await store.collection(name).find({ worldId })).filter(keep)
    await insertAll(store, name, rows.map((row) => reowned(row, forkId)))
    return rows
  }
  await copy('playerDescriptions', (row) => existedBy(row.playerId, game.nextId))
  await copy('agentDescriptions', (row) => existedBy(row.agentId, game.nextId))
  await copy('archivedPlayers', archivedBy)
  await copy('archivedAgents', archivedBy)
  const ended = await copy('archivedConversations', archivedBy)
  const endedIds = new Set(ended.map((c) => c.id as string))
  await copy('participatedTogether', (row) => endedIds.has(row.conversationId as string))

  // The messages the step had counted: the first numMessages of each conversation, live or ended by then.
  const counted: Array<Pick<Conversation, 'id' | 'numMessages'>> = [...game.conversations, ...ended.map((c) => ({ id: c.id as string, numMessages: c.numMessages as number }))]
  for (const c of counted) {
    if (c.numMessages <= 0) continue
    const messages = await store.collection<MessageDoc>('messages').find({ worldId, conversationId: c.id }, { sort: { _creationTime: 1 }, limit: c.numMessages })
    await insertAll(store, 'messages', messages.map((m) => reowned(m, forkId)))
  }

  await copyMemories(store, worldId, forkId, game.agents, endedIds, options.index)
  // The fork's first snapshot, at its first step: the fork can be replayed from where it began.
  await takeSnapshot(store, forkId, 'first', { keep: 1 }, now)
  await store.collection<EngineDoc>('engines').updateOne({ _id: engineId }, { $set: { running: true } })
  await store.collection<WorldStatusDoc>('worldStatus').updateOne({ _id: status._id }, { $set: { status: 'running' } })
  return await worldStatus(store, forkId)
}

/** Copies each player's memories at the step and their embeddings under new ids (reflections' links follow). */
async function copyMemories (store: Store, worldId: string, forkId: string, agents: Agent[], ended: Set<string>, index: ForkOptions['index']): Promise<void> {
  const all = await store.collection<MemoryDoc>('memories').find({ worldId }, { sort: { _creationTime: 1 } })
  const byPlayer = new Map<string, MemoryDoc[]>()
  for (const m of all) byPlayer.set(m.playerId, [...(byPlayer.get(m.playerId) ?? []), m])
  const kept = [...byPlayer].flatMap(([playerId, memories]) => memoriesAtStep(memories, rememberedBy(agents, ended, playerId)))
  if (kept.length === 0) return
  const newIds = new Map<string, string>(kept.flatMap((m) => [[m._id, randomUUID()], [m.embeddingId, randomUUID()]]))
  const embeddings = store.collection<MemoryEmbeddingDoc>('memoryEmbeddings')
  for (let i = 0; i < kept.length; i += BATCH) {
    const batch = kept.slice(i, i + BATCH)
    const vectors = await embeddings.find({ _id: { $in: batch.map((m) => m.embeddingId) } })
    // Embeddings first, as MemoryService.add writes them: a memory never points at a missing vector.
    await insertAll(store, 'memoryEmbeddings', vectors.map((e) => reowned(e, forkId, newIds.get(e._id)!)))
    await insertAll(store, 'memories', batch.map((m) => {
      const copy = reowned(m, forkId, newIds.get(m._id)!)
      copy.embeddingId = newIds.get(m.embeddingId)!
      if (m.data?.type === 'reflection') copy.data = { ...m.data, relatedMemoryIds: m.data.relatedMemoryIds.map((id) => newIds.get(id) ?? id) }
      return copy
    }))
    await index?.upsert(vectors.map((e) => ({ id: newIds.get(e._id)!, worldId: forkId, playerId: e.playerId, embedding: Float32Array.from(e.embedding) })))
  }
}
