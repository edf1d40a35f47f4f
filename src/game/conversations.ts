// Conversations between exactly two players: invitation, walking over, talking, ending.
import type { Game } from './game.ts'
import { agentByPlayer, allocateId, conversationOf, indexConversation, playerIndexOf, spatialHash, teleported } from './game.ts'
import type { Conversation, ConversationParticipant, Player, Point } from './types.ts'
import {
  COLLISION_THRESHOLD, CONVERSATION_DISTANCE, PLAYER_CONVERSATION_COOLDOWN, TYPING_TIMEOUT
} from './constants.ts'
import { findPlayerNear } from './grid.ts'
import { direction, distance } from './geometry.ts'
import { GameError } from './errors.ts'

// Plain loops: these run for every agent in a conversation on every tick.
export function memberOf (conversation: Conversation, playerId: string): ConversationParticipant | undefined {
  for (const m of conversation.participants) if (m.playerId === playerId) return m
  return undefined
}

export function otherMember (conversation: Conversation, playerId: string): ConversationParticipant | undefined {
  for (const m of conversation.participants) if (m.playerId !== playerId) return m
  return undefined
}

function requireMember (conversation: Conversation, playerId: string, input: string): ConversationParticipant {
  const member = memberOf(conversation, playerId)
  if (!member) throw new GameError(`${input}: ${playerId} is not in conversation ${conversation.id}`)
  return member
}

export function startConversation (game: Game, player: Player, invitee: Player): string {
  if (player.id === invitee.id) throw new GameError('startConversation: a player cannot invite itself')
  for (const p of [player, invitee]) {
    const existing = conversationOf(game, p.id)
    if (existing) throw new GameError(`startConversation: ${p.id} is already in conversation ${existing.id}`)
  }
  const { now } = game
  const conversation: Conversation = {
    id: allocateId(game, 'c'),
    creator: player.id,
    created: now,
    numMessages: 0,
    participants: [
      { playerId: player.id, status: 'walkingOver', since: now },
      { playerId: invitee.id, status: 'invited', since: now }
    ]
  }
  game.world.conversations.push(conversation)
  indexConversation(game, conversation, true)
  return conversation.id
}

export function acceptInvite (game: Game, player: Player, conversation: Conversation): void {
  const member = requireMember(conversation, player.id, 'acceptInvite')
  if (member.status !== 'invited') throw new GameError(`acceptInvite: ${player.id} is not invited to ${conversation.id}`)
  member.status = 'walkingOver'
  member.since = game.now
}

export function rejectInvite (game: Game, player: Player, conversation: Conversation): void {
  const member = requireMember(conversation, player.id, 'rejectInvite')
  if (member.status !== 'invited') throw new GameError(`rejectInvite: ${player.id} is not invited to ${conversation.id}`)
  endConversation(game, conversation)
}

export function leaveConversation (game: Game, player: Player, conversation: Conversation): void {
  requireMember(conversation, player.id, 'leaveConversation')
  endConversation(game, conversation)
}

export function startTyping (game: Game, player: Player, conversation: Conversation, messageUuid: string): void {
  const member = requireMember(conversation, player.id, 'startTyping')
  if (member.status !== 'participating') {
    throw new GameError(`startTyping: ${player.id} is not participating in ${conversation.id} yet`)
  }
  if (conversation.isTyping && conversation.isTyping.playerId !== player.id) {
    throw new GameError(`startTyping: ${conversation.isTyping.playerId} is already typing in ${conversation.id}`)
  }
  conversation.isTyping = { playerId: player.id, messageUuid, since: game.now }
}

export function finishSendingMessage (game: Game, player: Player, conversation: Conversation, timestamp: number): void {
  const member = requireMember(conversation, player.id, 'finishSendingMessage')
  if (member.status !== 'participating') {
    throw new GameError(`finishSendingMessage: ${player.id} is not participating in ${conversation.id}`)
  }
  if (conversation.isTyping?.playerId === player.id) delete conversation.isTyping
  conversation.lastMessage = { author: player.id, timestamp }
  conversation.numMessages++
}

/** Ends a conversation: archive it, record who talked to whom, and mark it for the agents to remember. */
export function endConversation (game: Game, conversation: Conversation): void {
  const { world, now, out } = game
  const index = world.conversations.indexOf(conversation)
  if (index === -1) return
  world.conversations.splice(index, 1)
  indexConversation(game, conversation, false)
  const ids = conversation.participants.map((m) => m.playerId)
  out.archivedConversations.push({
    id: conversation.id,
    creator: conversation.creator,
    created: conversation.created,
    ended: now,
    ...(conversation.lastMessage ? { lastMessage: { ...conversation.lastMessage } } : {}),
    numMessages: conversation.numMessages,
    participants: ids
  })
  for (const player1 of ids) {
    for (const player2 of ids) {
      if (player1 !== player2) out.participatedTogether.push({ conversationId: conversation.id, player1, player2, ended: now })
    }
  }
  for (const playerId of ids) {
    const agent = agentByPlayer(game, playerId)
    if (!agent) continue
    agent.lastConversation = now
    // An empty conversation never displaces one still waiting to be remembered.
    if (agent.toRemember === undefined || conversation.numMessages > 0) agent.toRemember = conversation.id
    const partners = (agent.recentPartners ?? []).filter((r) => now - r.ended < PLAYER_CONVERSATION_COOLDOWN)
    for (const other of ids) {
      if (other === playerId) continue
      const known = partners.find((r) => r.playerId === other)
      if (known) known.ended = now
      else partners.push({ playerId: other, ended: now })
    }
    agent.recentPartners = partners
    delete agent.walkingOver
  }
}

function tileFree (game: Game, x: number, y: number, skipA: number, skipB: number): boolean {
  const { grid } = game
  if (x < 0 || y < 0 || x >= grid.width || y >= grid.height) return false
  if (grid.blocked[x + y * grid.width] === 1) return false
  return findPlayerNear(spatialHash(game), game.world.players, x, y, COLLISION_THRESHOLD, skipA, skipB) === -1
}

const NEIGHBOURS = [[1, 0], [-1, 0], [0, 1], [0, -1]]

/** Adjacent free tiles for the two players, as near as possible to where they stand. */
function snapCells (game: Game, ia: number, ib: number): [Point, Point] | undefined {
  const a = game.world.players[ia].position
  const b = game.world.players[ib].position
  const home = { x: Math.round(a.x), y: Math.round(a.y) }
  const aCells: Point[] = [home, ...NEIGHBOURS.map(([dx, dy]) => ({ x: home.x + dx, y: home.y + dy }))]
  aCells.sort((p, q) => distance(p, a) - distance(q, a))
  for (const cellA of aCells) {
    if (!tileFree(game, cellA.x, cellA.y, ia, ib)) continue
    const bCells = NEIGHBOURS.map(([dx, dy]) => ({ x: cellA.x + dx, y: cellA.y + dy }))
      .sort((p, q) => distance(p, b) - distance(q, b))
    for (const cellB of bCells) {
      if (tileFree(game, cellB.x, cellB.y, ia, ib)) return [cellA, cellB]
    }
  }
  return undefined
}

function startParticipating (game: Game, conversation: Conversation, pa: Player, pb: Player): void {
  const { now } = game
  for (const member of conversation.participants) {
    member.status = 'participating'
    member.since = now
  }
  for (const p of [pa, pb]) {
    delete p.pathfinding
    p.speed = 0
  }
  const cells = snapCells(game, playerIndexOf(game, pa.id), playerIndexOf(game, pb.id))
  if (cells) {
    pa.position = cells[0]
    pb.position = cells[1]
    teleported(game, pa.id)
    teleported(game, pb.id)
  }
  const facing = direction(pa.position, pb.position)
  if (facing.dx !== 0 || facing.dy !== 0) {
    pa.facing = { dx: facing.dx, dy: facing.dy }
    pb.facing = { dx: -facing.dx, dy: -facing.dy }
  }
}

/** Per tick: expire typing indicators; start talking once both walkers are close enough. */
export function tickConversations (game: Game): void {
  const { now } = game
  for (const conversation of game.world.conversations) {
    if (conversation.isTyping && now - conversation.isTyping.since > TYPING_TIMEOUT) delete conversation.isTyping
    const [m1, m2] = conversation.participants
    if (m1?.status !== 'walkingOver' || m2?.status !== 'walkingOver') continue
    const i1 = playerIndexOf(game, m1.playerId)
    const i2 = playerIndexOf(game, m2.playerId)
    if (i1 === -1 || i2 === -1) continue
    const p1 = game.world.players[i1]
    const p2 = game.world.players[i2]
    if (distance(p1.position, p2.position) <= CONVERSATION_DISTANCE) startParticipating(game, conversation, p1, p2)
  }
}
