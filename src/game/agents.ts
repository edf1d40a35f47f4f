// The agent loop: each tick an agent waits for its operation, or starts the next one,
// or plays its part in a conversation. Language-model work happens outside the step:
// the loop emits operation requests and their results come back as inputs.
import type { Game } from './game.ts'
import { agentById, allocateId, conversationById, conversationOf, playerById, rng } from './game.ts'
import type {
  Activity, Agent, AgentOperation, Conversation, ConversationParticipant, GenerateMessageType, Player, Point, WorldState
} from './types.ts'
import {
  ACTION_TIMEOUT, AWKWARD_CONVERSATION_TIMEOUT, CONVERSATION_COOLDOWN, CONVERSATION_DISTANCE,
  INVITE_ACCEPT_PROBABILITY, INVITE_TIMEOUT, MAX_CONVERSATION_DURATION, MAX_CONVERSATION_MESSAGES,
  MESSAGE_COOLDOWN, MIDPOINT_THRESHOLD, WALK_OVER_REPLAN_MS
} from './constants.ts'
import {
  acceptInvite, endConversation, finishSendingMessage, leaveConversation, memberOf, otherMember,
  rejectInvite, startConversation
} from './conversations.ts'
import { movePlayer } from './players.ts'
import { distance, manhattan, samePoint } from './geometry.ts'
import { nextFloat, nextUuid } from './rng.ts'
import { GameError } from './errors.ts'

type OperationArgs<N extends AgentOperation['name']> = Extract<AgentOperation, { name: N }>['args']

function startOperation<N extends AgentOperation['name']> (
  game: Game, agent: Agent, name: N, args: OperationArgs<N>, conversationId?: string
): string {
  const operationId = allocateId(game, 'o')
  agent.inProgressOperation = { name, operationId, started: game.now }
  if (conversationId !== undefined) agent.inProgressOperation.conversationId = conversationId
  if (name === 'generateMessage') agent.inProgressOperation.messageType = (args as OperationArgs<'generateMessage'>).type
  game.out.operations.push({ operationId, name, agentId: agent.id, args } as AgentOperation)
  return operationId
}

function generateMessage (
  game: Game, agent: Agent, player: Player, conversation: Conversation, other: string, type: GenerateMessageType
): void {
  const messageUuid = nextUuid(rng(game))
  conversation.isTyping = { playerId: player.id, messageUuid, since: game.now }
  startOperation(game, agent, 'generateMessage', {
    agentId: agent.id,
    playerId: player.id,
    conversationId: conversation.id,
    otherPlayerId: other,
    messageUuid,
    type
  })
}

function walkOver (game: Game, agent: Agent, player: Player, otherPlayer: Player): void {
  const { now } = game
  const gap = distance(player.position, otherPlayer.position)
  if (gap <= CONVERSATION_DISTANCE) {
    if (player.pathfinding) movePlayer(game, player, null)
    return
  }
  const target = gap < MIDPOINT_THRESHOLD
    ? otherPlayer.position
    : { x: (player.position.x + otherPlayer.position.x) / 2, y: (player.position.y + otherPlayer.position.y) / 2 }
  const destination: Point = {
    x: Math.min(game.grid.width - 1, Math.max(0, Math.round(target.x))),
    y: Math.min(game.grid.height - 1, Math.max(0, Math.round(target.y)))
  }
  if (player.pathfinding) {
    const current = player.pathfinding.destination
    if (samePoint(current, destination)) return
    // Far apart the midpoint drifts as both walk; a one-tile drift is not worth a new route.
    if (gap >= MIDPOINT_THRESHOLD && manhattan(current, destination) <= 1) return
  }
  const last = agent.walkingOver
  if (!player.pathfinding && last && samePoint(last.destination, destination) && now - last.planned < WALK_OVER_REPLAN_MS) return
  movePlayer(game, player, destination)
  agent.walkingOver = { destination, planned: now }
}

function takePartInConversation (
  game: Game, agent: Agent, player: Player, conversation: Conversation, member: ConversationParticipant
): void {
  const { now } = game
  const other = otherMember(conversation, player.id)
  if (!other) return
  const otherPlayer = playerById(game, other.playerId)
  switch (member.status) {
    case 'invited': {
      const fromHuman = otherPlayer?.human !== undefined
      if (fromHuman || nextFloat(rng(game)) < INVITE_ACCEPT_PROBABILITY) acceptInvite(game, player, conversation)
      else rejectInvite(game, player, conversation)
      return
    }
    case 'walkingOver': {
      if (now > member.since + INVITE_TIMEOUT || !otherPlayer) {
        leaveConversation(game, player, conversation)
        return
      }
      walkOver(game, agent, player, otherPlayer)
      return
    }
    case 'participating': {
      if (conversation.isTyping && conversation.isTyping.playerId !== player.id) return
      if (!conversation.lastMessage) {
        const opens = conversation.creator === player.id || now >= member.since + AWKWARD_CONVERSATION_TIMEOUT
        if (opens) generateMessage(game, agent, player, conversation, other.playerId, 'start')
        return
      }
      const tooLong = now - member.since > MAX_CONVERSATION_DURATION ||
        conversation.numMessages > MAX_CONVERSATION_MESSAGES
      if (tooLong) {
        generateMessage(game, agent, player, conversation, other.playerId, 'leave')
        return
      }
      const { author, timestamp } = conversation.lastMessage
      if (author === player.id && now < timestamp + AWKWARD_CONVERSATION_TIMEOUT) return
      if (now < timestamp + MESSAGE_COOLDOWN) return
      generateMessage(game, agent, player, conversation, other.playerId, 'continue')
    }
  }
}

export function tickAgent (game: Game, agent: Agent): void {
  const { now } = game
  const player = playerById(game, agent.playerId)
  if (!player) return
  const operation = agent.inProgressOperation
  if (operation) {
    if (now - operation.started < ACTION_TIMEOUT) return
    delete agent.inProgressOperation
  }
  const conversation = conversationOf(game, player.id)
  if (player.activity && player.activity.until > now && (conversation || player.pathfinding)) {
    player.activity.until = now
  }
  // Fix: remembering comes first, so wandering or a stream of invites cannot starve it.
  if (agent.toRemember !== undefined) {
    startOperation(game, agent, 'rememberConversation', {
      agentId: agent.id,
      playerId: player.id,
      conversationId: agent.toRemember
    }, agent.toRemember)
    return
  }
  if (!conversation) {
    const doingActivity = player.activity !== undefined && player.activity.until > now
    const recentlyAttemptedInvite = agent.lastInviteAttempt !== undefined && now < agent.lastInviteAttempt + CONVERSATION_COOLDOWN
    if (!doingActivity && (!player.pathfinding || !recentlyAttemptedInvite)) {
      startOperation(game, agent, 'doSomething', { agentId: agent.id, playerId: player.id })
    }
    return
  }
  const member = memberOf(conversation, player.id)
  if (member) takePartInConversation(game, agent, player, conversation, member)
}

export function tickAgents (game: Game): void {
  // Agents can be removed mid-loop only through inputs, never here; iterate a snapshot anyway.
  for (const agent of game.world.agents.slice()) tickAgent(game, agent)
}

// ---- results of operations, delivered as inputs ---------------------------------------

function requireOperation (agent: Agent, operationId: string, input: string): void {
  if (agent.inProgressOperation?.operationId !== operationId) {
    throw new GameError(`${input}: operation ${operationId} is not in progress for ${agent.id}`)
  }
}

export function requireAgent (game: Game, agentId: string, input: string): Agent {
  const agent = agentById(game, agentId)
  if (!agent) throw new GameError(`${input}: unknown agent ${agentId}`)
  return agent
}

export function finishRememberConversation (game: Game, agentId: string, operationId: string): void {
  const agent = requireAgent(game, agentId, 'finishRememberConversation')
  requireOperation(agent, operationId, 'finishRememberConversation')
  const remembered = agent.inProgressOperation!.conversationId
  delete agent.inProgressOperation
  if (remembered === undefined || agent.toRemember === remembered) delete agent.toRemember
}

export interface FinishDoSomethingArgs {
  agentId: string
  operationId: string
  destination?: Point
  invitee?: string
  activity?: Activity
}

export function finishDoSomething (game: Game, args: FinishDoSomethingArgs): void {
  const agent = requireAgent(game, args.agentId, 'finishDoSomething')
  requireOperation(agent, args.operationId, 'finishDoSomething')
  delete agent.inProgressOperation
  const player = playerById(game, agent.playerId)
  if (!player) return
  const { now } = game
  const busy = conversationOf(game, player.id) !== undefined
  if (args.destination && !busy) movePlayer(game, player, args.destination)
  if (args.activity) player.activity = { ...args.activity }
  if (args.invitee !== undefined) {
    const invitee = playerById(game, args.invitee)
    // The world may have moved on since the decision; a stale invite is simply dropped.
    if (invitee && !busy && !conversationOf(game, invitee.id) && invitee.id !== player.id) {
      startConversation(game, player, invitee)
    }
  }
  // A result with no destination and no activity was an invite check (made while walking).
  if (args.invitee !== undefined || (!args.destination && !args.activity)) agent.lastInviteAttempt = now
}

export interface AgentFinishSendingMessageArgs {
  agentId: string
  conversationId: string
  timestamp: number
  operationId: string
  leaveConversation: boolean
}

export function agentFinishSendingMessage (game: Game, args: AgentFinishSendingMessageArgs): void {
  const agent = requireAgent(game, args.agentId, 'agentFinishSendingMessage')
  if (agent.inProgressOperation?.operationId === args.operationId) delete agent.inProgressOperation
  const conversation = conversationById(game, args.conversationId)
  // The conversation may have ended while the message was being written; nothing to update.
  if (!conversation) return
  const player = playerById(game, agent.playerId)
  if (!player || !memberOf(conversation, player.id)) {
    throw new GameError(`agentFinishSendingMessage: ${agent.id} is not in conversation ${conversation.id}`)
  }
  finishSendingMessage(game, player, conversation, args.timestamp)
  if (args.leaveConversation) endConversation(game, conversation)
}

/**
 * The operations in flight in a world, rebuilt from the agents' own markers (their arguments are in the world),
 * so a runner that takes a world over restarts them instead of waiting out ACTION_TIMEOUT. Markers older than the
 * timeout, and markers whose message is no longer being typed, are left to time out.
 */
export function inFlightOperations (world: WorldState, now: number): AgentOperation[] {
  const out: AgentOperation[] = []
  for (const agent of world.agents) {
    const op = agent.inProgressOperation
    if (op === undefined || now - op.started >= ACTION_TIMEOUT) continue
    const player = world.players.find((p) => p.id === agent.playerId)
    if (player === undefined) continue
    const base = { operationId: op.operationId, agentId: agent.id }
    if (op.name === 'doSomething') {
      out.push({ ...base, name: 'doSomething', args: { agentId: agent.id, playerId: player.id } })
    } else if (op.name === 'rememberConversation') {
      if (op.conversationId !== undefined) out.push({ ...base, name: 'rememberConversation', args: { agentId: agent.id, playerId: player.id, conversationId: op.conversationId } })
    } else if (op.messageType !== undefined) {
      const conversation = world.conversations.find((c) => c.isTyping?.playerId === player.id)
      const other = conversation?.participants.find((m) => m.playerId !== player.id)
      if (conversation === undefined || other === undefined) continue
      out.push({
        ...base,
        name: 'generateMessage',
        args: { agentId: agent.id, playerId: player.id, conversationId: conversation.id, otherPlayerId: other.playerId, messageUuid: conversation.isTyping!.messageUuid, type: op.messageType }
      })
    }
  }
  return out
}
