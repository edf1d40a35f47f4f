// The world as clients see it: AI Town's serialized shapes, field for field, on every wire (the Convex
// sync protocol, /api/ws, HTTP), so AI Town's front end and townhall's viewer read one model of the state.
import type { Agent, Conversation, ConversationParticipant, PathComponent, Player } from '../game/index.ts'
import type { EngineDoc, WorldDoc, WorldStatusDoc } from '../engine/types.ts'

/** AI Town packs a path corner as [x, y, dx, dy, t]. */
export type PackedPathComponent = [number, number, number, number, number]

export type ClientParticipantStatus = { kind: 'invited' } | { kind: 'walkingOver' } | { kind: 'participating', started: number }

export interface ClientParticipant { playerId: string, invited: number, status: ClientParticipantStatus }

export interface ClientConversation {
  id: string
  creator: string
  created: number
  isTyping?: { playerId: string, messageUuid: string, since: number }
  lastMessage?: { author: string, timestamp: number }
  numMessages: number
  participants: ClientParticipant[]
}

export interface ClientPlayer {
  id: string
  human?: string
  pathfinding?: {
    destination: { x: number, y: number }
    started: number
    state: { kind: 'needsPath' } | { kind: 'waiting', until: number } | { kind: 'moving', path: PackedPathComponent[] }
  }
  activity?: { description: string, emoji?: string, until: number }
  lastInput: number
  position: { x: number, y: number }
  facing: { dx: number, dy: number }
  speed: number
}

export interface ClientAgent {
  id: string
  playerId: string
  toRemember?: string
  lastConversation?: number
  lastInviteAttempt?: number
  inProgressOperation?: { name: string, operationId: string, started: number }
}

export interface ClientWorld {
  _id: string
  _creationTime: number
  nextId: number
  players: ClientPlayer[]
  agents: ClientAgent[]
  conversations: ClientConversation[]
  historicalLocations?: Array<{ playerId: string, location: Uint8Array }>
}

export interface ClientEngine {
  _id: string
  _creationTime: number
  currentTime: number
  lastStepTs: number
  processedInputNumber: number
  running: boolean
  generationNumber: number
}

export const packPathComponent = (c: PathComponent): PackedPathComponent => [c.position.x, c.position.y, c.facing.dx, c.facing.dy, c.t]

export function clientPlayer (p: Player): ClientPlayer {
  const out: ClientPlayer = { id: p.id, lastInput: p.lastInput, position: p.position, facing: p.facing, speed: p.speed }
  // The human's token identifier is a hash of a secret: public, and equal to what world:userStatus tells its owner.
  if (p.human !== undefined) out.human = p.human
  if (p.pathfinding !== undefined) {
    const s = p.pathfinding.state
    out.pathfinding = {
      destination: p.pathfinding.destination,
      started: p.pathfinding.started,
      state: s.kind === 'moving' ? { kind: 'moving', path: s.path.map(packPathComponent) } : s.kind === 'waiting' ? { kind: 'waiting', until: s.until } : { kind: 'needsPath' }
    }
  }
  if (p.activity !== undefined) out.activity = p.activity
  return out
}

function clientParticipant (m: ConversationParticipant, conversation: Conversation): ClientParticipant {
  // AI Town creates both memberships when the conversation starts: both were invited at its creation.
  const status: ClientParticipantStatus = m.status === 'participating' ? { kind: 'participating', started: m.since } : { kind: m.status }
  return { playerId: m.playerId, invited: conversation.created, status }
}

export function clientConversation (c: Conversation): ClientConversation {
  const out: ClientConversation = { id: c.id, creator: c.creator, created: c.created, numMessages: c.numMessages, participants: c.participants.map((m) => clientParticipant(m, c)) }
  if (c.isTyping !== undefined) out.isTyping = c.isTyping
  if (c.lastMessage !== undefined) out.lastMessage = c.lastMessage
  return out
}

export function clientAgent (a: Agent): ClientAgent {
  const out: ClientAgent = { id: a.id, playerId: a.playerId }
  if (a.toRemember !== undefined) out.toRemember = a.toRemember
  if (a.lastConversation !== undefined) out.lastConversation = a.lastConversation
  if (a.lastInviteAttempt !== undefined) out.lastInviteAttempt = a.lastInviteAttempt
  if (a.inProgressOperation !== undefined) {
    const { name, operationId, started } = a.inProgressOperation
    out.inProgressOperation = { name, operationId, started }
  }
  return out
}

export function clientWorld (world: WorldDoc): ClientWorld {
  const out: ClientWorld = {
    _id: world._id,
    _creationTime: world._creationTime,
    nextId: world.nextId,
    players: world.players.map(clientPlayer),
    agents: world.agents.map(clientAgent),
    conversations: world.conversations.map(clientConversation)
  }
  const history = world.historicalLocations as unknown
  if (Array.isArray(history) && history.length > 0) out.historicalLocations = history as ClientWorld['historicalLocations']
  return out
}

/** The engine as AI Town's client reads it; the world document's step state is the committed truth. */
export function clientEngine (world: WorldDoc, engine: EngineDoc | null): ClientEngine {
  return {
    _id: world.engineId,
    _creationTime: engine?._creationTime ?? world._creationTime,
    currentTime: world.step.currentTime,
    lastStepTs: world.step.lastStepTs,
    processedInputNumber: world.step.processedInputNumber,
    running: engine?.running ?? false,
    generationNumber: engine?.generationNumber ?? world.step.generation
  }
}

export interface ClientWorldStatus { _id: string, _creationTime: number, worldId: string, engineId: string, status: string, isDefault: boolean, lastViewed: number }

export function clientWorldStatus (s: WorldStatusDoc): ClientWorldStatus {
  return { _id: s._id, _creationTime: s._creationTime, worldId: s.worldId, engineId: s.engineId, status: s.status, isDefault: s.isDefault, lastViewed: s.lastViewed }
}
