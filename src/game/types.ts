// Serialisable shapes of the game world. Everything here is plain JSON: no Maps, no
// classes, no typed arrays, so a world document can be stored and replayed as is.
import type { RngState } from './rng.ts'

export type { RngState }

/** Game ids share one counter per world: `p:0`, `a:1`, `c:2`, `o:3`. */
export type PlayerId = string
export type AgentId = string
export type ConversationId = string
export type OperationId = string

export interface Point { x: number, y: number }
export interface Vector { dx: number, dy: number }

/** One corner of a planned route: where the player is at time `t` and which way it faces. */
export interface PathComponent { position: Point, facing: Vector, t: number }

export type PathfindingState =
  | { kind: 'needsPath', since: number }
  | { kind: 'waiting', until: number }
  | { kind: 'moving', path: PathComponent[] }

export interface Pathfinding {
  destination: Point
  started: number
  state: PathfindingState
}

export interface Activity { description: string, emoji?: string, until: number }

export interface Player {
  id: PlayerId
  /** Token identifier of a human player; absent for agents and debug players. */
  human?: string
  /** Time of this player's latest input (join counts); humans idle for 5 min are removed. */
  lastInput: number
  position: Point
  facing: Vector
  speed: number
  pathfinding?: Pathfinding
  activity?: Activity
}

export type ParticipantStatus = 'invited' | 'walkingOver' | 'participating'

export interface ConversationParticipant {
  playerId: PlayerId
  status: ParticipantStatus
  /** When the participant entered its current status. */
  since: number
}

export interface Conversation {
  id: ConversationId
  creator: PlayerId
  created: number
  isTyping?: { playerId: PlayerId, messageUuid: string, since: number }
  lastMessage?: { author: PlayerId, timestamp: number }
  numMessages: number
  /** Always exactly two. */
  participants: ConversationParticipant[]
}

export type AgentOperationName = 'doSomething' | 'rememberConversation' | 'generateMessage'

export interface InProgressOperation {
  name: AgentOperationName
  operationId: OperationId
  started: number
  /** For rememberConversation: which conversation is being remembered. */
  conversationId?: ConversationId
  /** For generateMessage: which message (the rest is in the conversation), so the operation can be restarted. */
  messageType?: GenerateMessageType
}

export interface Agent {
  id: AgentId
  playerId: PlayerId
  /** An ended conversation this agent still has to turn into a memory. */
  toRemember?: ConversationId
  /** When this agent's latest conversation ended. */
  lastConversation?: number
  lastInviteAttempt?: number
  inProgressOperation?: InProgressOperation
  /** Partners of conversations that ended within the last minute (invite cooldown). */
  recentPartners?: Array<{ playerId: PlayerId, ended: number }>
  /** Last walking-over plan, so an agent does not re-plan the same route every tick. */
  walkingOver?: { destination: Point, planned: number }
}

export interface WorldState {
  nextId: number
  players: Player[]
  agents: Agent[]
  conversations: Conversation[]
  rngState: RngState
}

export interface PlayerDescription {
  playerId: PlayerId
  name: string
  description: string
  character: string
}

export interface AgentDescription {
  agentId: AgentId
  identity: string
  plan: string
}

/** One member of the cast an agent can be created from. */
export interface CharacterDescription {
  name: string
  character: string
  identity: string
  plan: string
}

export interface WorldMap {
  width: number
  height: number
  tileDim: number
  /** [layer][x][y] tile indices. */
  bgTiles: number[][][]
  /** [layer][x][y]; -1 = free, anything else blocks movement. */
  objectTiles: number[][][]
}

// ---- step interface -------------------------------------------------------------------

export interface StepInput {
  number: number
  name: string
  args: unknown
  received: number
}

export type InputReturnValue =
  | { kind: 'ok', value: unknown }
  | { kind: 'error', message: string }

export type GenerateMessageType = 'start' | 'continue' | 'leave'

export type AgentOperation =
  | {
    operationId: OperationId
    name: 'doSomething'
    agentId: AgentId
    args: { agentId: AgentId, playerId: PlayerId }
  }
  | {
    operationId: OperationId
    name: 'rememberConversation'
    agentId: AgentId
    args: { agentId: AgentId, playerId: PlayerId, conversationId: ConversationId }
  }
  | {
    operationId: OperationId
    name: 'generateMessage'
    agentId: AgentId
    args: {
      agentId: AgentId
      playerId: PlayerId
      conversationId: ConversationId
      otherPlayerId: PlayerId
      messageUuid: string
      type: GenerateMessageType
    }
  }

export interface ArchivedConversation {
  id: ConversationId
  creator: PlayerId
  created: number
  ended: number
  lastMessage?: { author: PlayerId, timestamp: number }
  numMessages: number
  participants: PlayerId[]
}

export interface ParticipatedTogether {
  conversationId: ConversationId
  player1: PlayerId
  player2: PlayerId
  ended: number
}

export interface StepStats {
  ticks: number
  routeSearches: number
  /** Players that had to wait at least one tick for a route search because of the cap. */
  agentsWaitingForPath: number
  /** Longest time a player waited for a route search in this step (ms). */
  maxPathWaitMs: number
}

/** What a step produced besides the world itself: what left it, what it started, what it described. */
export interface StepOutput {
  archivedPlayers: Player[]
  archivedAgents: Agent[]
  archivedConversations: ArchivedConversation[]
  participatedTogether: ParticipatedTogether[]
  operations: AgentOperation[]
  playerDescriptions: PlayerDescription[]
  agentDescriptions: AgentDescription[]
}

export interface StepResult extends StepOutput {
  world: WorldState
  results: Array<{ number: number, returnValue: InputReturnValue }>
  /** Time of the last tick; equals `from` when the interval held no whole tick. */
  currentTime: number
  /** AI Town's packed per-player history of the step (see locationHistory.ts); players who never moved are absent. */
  historicalLocations: Array<{ playerId: string, location: Uint8Array }>
  stats: StepStats
}
