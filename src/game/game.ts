// The working context of one simulateStep call: the world being advanced, lookup
// indexes over it, and what the step has to report. Lives only for the step.
import type { Agent, CharacterDescription, Conversation, Player, StepOutput, WorldMap, WorldState } from './types.ts'
import { MAX_EXTRA, buildStaticGrid, createSpatialHash, notePlayerMoved, rebuildSpatialHash } from './grid.ts'
import type { SpatialHash, StaticGrid } from './grid.ts'
import { createSearchScratch } from './pathfinding.ts'
import type { SearchScratch } from './pathfinding.ts'
import type { RngState } from './rng.ts'
import { COLLISION_THRESHOLD } from './constants.ts'

export interface RouteStats {
  searches: number
  budget: number
  /** Players that found the budget spent while they needed a route. */
  waited: Set<string>
  maxWaitMs: number
}

export interface Game {
  world: WorldState
  map: WorldMap
  cast: CharacterDescription[]
  grid: StaticGrid
  now: number
  out: StepOutput
  routes: RouteStats
  search: SearchScratch
  hash: SpatialHash
  hashDirty: boolean
  indexDirty: boolean
  playerIndex: Map<string, number>
  agentById: Map<string, Agent>
  agentByPlayer: Map<string, Agent>
  conversationById: Map<string, Conversation>
  conversationByPlayer: Map<string, Conversation>
}

export function createGame (
  world: WorldState, map: WorldMap, cast: CharacterDescription[], now: number, routeBudget: number
): Game {
  const game: Game = {
    world,
    map,
    cast,
    grid: buildStaticGrid(map),
    now,
    out: {
      archivedPlayers: [],
      archivedAgents: [],
      archivedConversations: [],
      participatedTogether: [],
      operations: [],
      playerDescriptions: [],
      agentDescriptions: []
    },
    routes: { searches: 0, budget: routeBudget, waited: new Set(), maxWaitMs: 0 },
    search: createSearchScratch(map.width, map.height),
    hash: createSpatialHash(map.width, map.height),
    hashDirty: true,
    indexDirty: true,
    playerIndex: new Map(),
    agentById: new Map(),
    agentByPlayer: new Map(),
    conversationById: new Map(),
    conversationByPlayer: new Map()
  }
  return game
}

export function rng (game: Game): RngState {
  return game.world.rngState
}

export function allocateId (game: Game, prefix: 'p' | 'a' | 'c' | 'o'): string {
  return `${prefix}:${game.world.nextId++}`
}

/** Call after adding or removing players, agents or conversations. */
export function invalidate (game: Game): void {
  game.indexDirty = true
  game.hashDirty = true
}

function refreshIndex (game: Game): void {
  if (!game.indexDirty) return
  game.indexDirty = false
  game.playerIndex.clear()
  game.agentById.clear()
  game.agentByPlayer.clear()
  game.conversationById.clear()
  game.conversationByPlayer.clear()
  const { players, agents, conversations } = game.world
  for (let i = 0; i < players.length; i++) game.playerIndex.set(players[i].id, i)
  for (const agent of agents) {
    game.agentById.set(agent.id, agent)
    game.agentByPlayer.set(agent.playerId, agent)
  }
  for (const conversation of conversations) {
    game.conversationById.set(conversation.id, conversation)
    for (const member of conversation.participants) game.conversationByPlayer.set(member.playerId, conversation)
  }
}

/** A player was appended to world.players: index it without a rebuild. */
export function addedPlayer (game: Game, player: Player): void {
  const index = game.world.players.length - 1
  if (!game.indexDirty) game.playerIndex.set(player.id, index)
  noteMoved(game, index)
}

function noteMoved (game: Game, index: number): void {
  if (game.hashDirty || index === -1) return
  if (game.hash.extra.length >= MAX_EXTRA) game.hashDirty = true
  else notePlayerMoved(game.hash, game.world.players, index)
}

/** An agent was appended to world.agents: index it without a rebuild. */
export function addedAgent (game: Game, agent: Agent): void {
  if (game.indexDirty) return
  game.agentById.set(agent.id, agent)
  game.agentByPlayer.set(agent.playerId, agent)
}

/** A player jumped (e.g. a conversation snap): keep the spatial hash truthful. */
export function teleported (game: Game, playerId: string): void {
  noteMoved(game, playerIndexOf(game, playerId))
}

export function playerIndexOf (game: Game, playerId: string): number {
  refreshIndex(game)
  return game.playerIndex.get(playerId) ?? -1
}

export function playerById (game: Game, playerId: string): Player | undefined {
  const i = playerIndexOf(game, playerId)
  return i === -1 ? undefined : game.world.players[i]
}

export function agentById (game: Game, agentId: string): Agent | undefined {
  refreshIndex(game)
  return game.agentById.get(agentId)
}

export function agentByPlayer (game: Game, playerId: string): Agent | undefined {
  refreshIndex(game)
  return game.agentByPlayer.get(playerId)
}

/** Keeps the conversation lookups current without a full rebuild (conversations come and go often). */
export function indexConversation (game: Game, conversation: Conversation, add: boolean): void {
  if (game.indexDirty) return
  if (add) {
    game.conversationById.set(conversation.id, conversation)
    for (const m of conversation.participants) game.conversationByPlayer.set(m.playerId, conversation)
  } else {
    game.conversationById.delete(conversation.id)
    for (const m of conversation.participants) {
      if (game.conversationByPlayer.get(m.playerId) === conversation) game.conversationByPlayer.delete(m.playerId)
    }
  }
}

export function conversationById (game: Game, conversationId: string): Conversation | undefined {
  refreshIndex(game)
  return game.conversationById.get(conversationId)
}

export function conversationOf (game: Game, playerId: string): Conversation | undefined {
  refreshIndex(game)
  return game.conversationByPlayer.get(playerId)
}

/** The spatial hash, rebuilt first if players moved in or out or were teleported. */
export function spatialHash (game: Game): SpatialHash {
  if (game.hashDirty) {
    rebuildSpatialHash(game.hash, game.world.players, COLLISION_THRESHOLD)
    game.hashDirty = false
  }
  return game.hash
}
