// What an idle or wandering agent does next, decided without a language model.
import type { Activity, Agent, Player, Point, WorldMap, WorldState } from './types.ts'
import type { RngState } from './rng.ts'
import { nextInt, pick } from './rng.ts'
import {
  ACTIVITY_COOLDOWN, ACTIVITY_DURATION, CONVERSATION_COOLDOWN, PLAYER_CONVERSATION_COOLDOWN
} from './constants.ts'

export const ACTIVITIES: ReadonlyArray<{ description: string, emoji: string }> = [
  { description: 'reading', emoji: '📚' },
  { description: 'daydreaming', emoji: '💭' },
  { description: 'gardening', emoji: '🌱' }
]

export interface DoSomethingSnapshot {
  agent: Agent
  player: Player
  /** Other players not in a conversation (candidates for an invite). */
  otherFreePlayers: Player[]
  map: WorldMap
  now: number
  rng: RngState
  /**
   * False while the world may not call the LLM (paused, or its budget spent): the agent invites no one, and
   * wanders and does activities instead. Default true.
   */
  mayTalk?: boolean
}

export interface DoSomethingDecision {
  destination?: Point
  invitee?: string
  activity?: Activity
}

/** Builds the snapshot for an agent from a world; undefined if the agent or its player is gone. */
export function doSomethingSnapshot (
  world: WorldState, map: WorldMap, agentId: string, now: number, rng: RngState
): DoSomethingSnapshot | undefined {
  const agent = world.agents.find((a) => a.id === agentId)
  if (!agent) return undefined
  const player = world.players.find((p) => p.id === agent.playerId)
  if (!player) return undefined
  const busy = new Set<string>()
  for (const c of world.conversations) for (const m of c.participants) busy.add(m.playerId)
  const otherFreePlayers = world.players.filter((p) => p.id !== player.id && !busy.has(p.id))
  return { agent, player, otherFreePlayers, map, now, rng }
}

function freeTile (map: WorldMap, p: Point): boolean {
  return map.objectTiles.every((layer) => (layer[p.x]?.[p.y] ?? -1) === -1)
}

/** A random tile at least one tile away from the map's edge, preferring one without an object on it. */
export function wanderDestination (map: WorldMap, rng: RngState): Point {
  const span = (n: number): number => Math.max(1, n - 2)
  let p: Point = { x: 1, y: 1 }
  for (let attempt = 0; attempt < 10; attempt++) {
    p = {
      x: Math.min(map.width - 1, 1 + nextInt(rng, span(map.width))),
      y: Math.min(map.height - 1, 1 + nextInt(rng, span(map.height)))
    }
    if (freeTile(map, p)) break
  }
  return p
}

/** The nearest free player this agent has not talked to within the last minute. */
export function conversationCandidate (snapshot: DoSomethingSnapshot): string | undefined {
  const { agent, player, otherFreePlayers, now } = snapshot
  const recent = new Set(
    (agent.recentPartners ?? []).filter((r) => now - r.ended < PLAYER_CONVERSATION_COOLDOWN).map((r) => r.playerId)
  )
  let best: Player | undefined
  let bestDistance = Infinity
  for (const other of otherFreePlayers) {
    if (other.id === player.id || recent.has(other.id)) continue
    const d = Math.hypot(other.position.x - player.position.x, other.position.y - player.position.y)
    if (d < bestDistance) {
      best = other
      bestDistance = d
    }
  }
  return best?.id
}

export function doSomething (snapshot: DoSomethingSnapshot): DoSomethingDecision {
  const { agent, player, map, now, rng } = snapshot
  if (!player.pathfinding) {
    const recentActivity = player.activity !== undefined && now < player.activity.until + ACTIVITY_COOLDOWN
    const justLeftConversation = agent.lastConversation !== undefined && now < agent.lastConversation + CONVERSATION_COOLDOWN
    // A newcomer (no activity or conversation yet) first walks into town, so a fresh world comes alive at once.
    const newcomer = player.activity === undefined && agent.lastConversation === undefined
    if (recentActivity || justLeftConversation || newcomer) return { destination: wanderDestination(map, rng) }
    const activity = pick(rng, ACTIVITIES)
    return { activity: { description: activity.description, emoji: activity.emoji, until: now + ACTIVITY_DURATION } }
  }
  if (agent.lastInviteAttempt !== undefined && now < agent.lastInviteAttempt + CONVERSATION_COOLDOWN) return {}
  if (snapshot.mayTalk === false) return {}
  const invitee = conversationCandidate(snapshot)
  return invitee === undefined ? {} : { invitee }
}
