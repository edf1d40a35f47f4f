// How a world is stored: players, agents and conversations keyed by game id, so a step that adds, changes
// or removes one entity writes only that entity ($set / $unset of `players.p:7`), never a shifted array.
import type { Agent, Conversation, InProgressOperation, PathComponent, Player, WorldState } from '../game/index.ts'
import type { Doc, Store } from '../store/types.ts'
import type { WorldDoc } from './types.ts'

export const ENTITY_FIELDS = ['players', 'agents', 'conversations'] as const

export interface StoredWorldDoc extends Doc {
  nextId: number
  rngState: WorldState['rngState']
  players: Record<string, Player>
  agents: Record<string, Agent>
  conversations: Record<string, Conversation>
  engineId: WorldDoc['engineId']
  cast: WorldDoc['cast']
  step: WorldDoc['step']
  historicalLocations?: WorldDoc['historicalLocations']
  outbox?: WorldDoc['outbox']
  /** Step records since the last snapshot, by step number (src/engine/snapshots.ts). */
  stepLog?: Record<string, [number, number, number?]>
}

function keyed<T extends { id: string }, S> (items: readonly T[], store: (item: T) => S): Record<string, S> {
  const out: Record<string, S> = {}
  for (const item of items) out[item.id] = store(item)
  return out
}

// Compact encodings keep a step's writes small (bench:engine): a route's corners packed as AI Town packs
// them, [x, y, dx, dy, t] (t from the route's start); an agent's in-flight marker, a conversation's isTyping
// and lastMessage each as one array. Worlds stored before either (and
// worlds imported from Convex) hold the object forms, which load as they are.
type PackedCorner = [number, number, number, number, number]
type PackedOperation = [InProgressOperation['name'], string, number, (string | null)?, InProgressOperation['messageType']?]

function storedPlayer (p: Player): Player {
  const state = p.pathfinding?.state
  if (state?.kind !== 'moving') return p
  // Times relative to the route's start: a few digits instead of thirteen.
  const started = p.pathfinding!.started
  const path = state.path.map((c): PackedCorner => [c.position.x, c.position.y, c.facing.dx, c.facing.dy, c.t - started])
  return { ...p, pathfinding: { ...p.pathfinding!, state: { kind: 'moving', path: path as unknown as PathComponent[] } } }
}

function playerFromStored (p: Player): Player {
  const state = p.pathfinding?.state
  if (state?.kind !== 'moving' || !Array.isArray(state.path[0])) return p
  const started = p.pathfinding!.started
  const path = (state.path as unknown as PackedCorner[]).map(([x, y, dx, dy, t]) => ({ position: { x, y }, facing: { dx, dy }, t: t + started }))
  return { ...p, pathfinding: { ...p.pathfinding!, state: { kind: 'moving', path } } }
}

function storedAgent (a: Agent): Agent {
  const op = a.inProgressOperation
  if (op === undefined) return a
  const packed: PackedOperation = [op.name, op.operationId, op.started]
  if (op.conversationId !== undefined || op.messageType !== undefined) packed.push(op.conversationId ?? null)
  if (op.messageType !== undefined) packed.push(op.messageType)
  return { ...a, inProgressOperation: packed as unknown as InProgressOperation }
}

function agentFromStored (a: Agent): Agent {
  const packed = a.inProgressOperation as unknown
  if (!Array.isArray(packed)) return a
  const [name, operationId, started, conversationId, messageType] = packed as PackedOperation
  const op: InProgressOperation = { name, operationId, started }
  if (conversationId != null) op.conversationId = conversationId
  if (messageType !== undefined) op.messageType = messageType
  return { ...a, inProgressOperation: op }
}

type PackedTyping = [string, string, number]
type PackedMessage = [string, number]

function storedConversation (c: Conversation): Conversation {
  if (c.isTyping === undefined && c.lastMessage === undefined) return c
  const out = { ...c } as Record<string, unknown>
  if (c.isTyping !== undefined) out.isTyping = [c.isTyping.playerId, c.isTyping.messageUuid, c.isTyping.since] satisfies PackedTyping
  if (c.lastMessage !== undefined) out.lastMessage = [c.lastMessage.author, c.lastMessage.timestamp] satisfies PackedMessage
  return out as unknown as Conversation
}

function conversationFromStored (c: Conversation): Conversation {
  const typing = c.isTyping as unknown
  const last = c.lastMessage as unknown
  if (!Array.isArray(typing) && !Array.isArray(last)) return c
  const out = { ...c }
  if (Array.isArray(typing)) { const [playerId, messageUuid, since] = typing as PackedTyping; out.isTyping = { playerId, messageUuid, since } }
  if (Array.isArray(last)) { const [author, timestamp] = last as PackedMessage; out.lastMessage = { author, timestamp } }
  return out
}

/** The stored shape of a world's state (entities keyed by id, in their order; paths and markers packed). */
export function storedState (world: WorldState): Record<string, unknown> {
  return {
    nextId: world.nextId,
    rngState: world.rngState,
    players: keyed(world.players, storedPlayer),
    agents: keyed(world.agents, storedAgent),
    conversations: keyed(world.conversations, storedConversation)
  }
}

export function worldFromStored (doc: StoredWorldDoc): WorldDoc {
  // Key order is insertion order (both stores keep it), which is the game's array order.
  return {
    ...doc,
    players: Object.values(doc.players ?? {}).map(playerFromStored),
    agents: Object.values(doc.agents ?? {}).map(agentFromStored),
    conversations: Object.values(doc.conversations ?? {}).map(conversationFromStored)
  }
}

export async function loadWorld (store: Store, worldId: string): Promise<WorldDoc | null> {
  const doc = await store.collection<StoredWorldDoc>('worlds').findOne({ _id: worldId })
  return doc === null ? null : worldFromStored(doc)
}
