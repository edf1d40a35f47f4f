// Inputs: argument validation and dispatch. Every handler throws GameError with a
// message naming the input and the offending argument; simulateStep turns it into an
// error return value.
import type { Game } from './game.ts'
import { addedAgent, allocateId, conversationById, playerById } from './game.ts'
import type { Activity, Agent, Conversation, Player, Point } from './types.ts'
import { CHARACTERS } from './constants.ts'
import { GameError } from './errors.ts'
import { joinWorld, movePlayer, removePlayer } from './players.ts'
import {
  acceptInvite, finishSendingMessage, leaveConversation, rejectInvite, startConversation, startTyping
} from './conversations.ts'
import { agentFinishSendingMessage, finishDoSomething, finishRememberConversation } from './agents.ts'

type Args = Record<string, unknown>

function fail (input: string, message: string): never {
  throw new GameError(`${input}: ${message}`)
}

function objectArgs (input: string, args: unknown): Args {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) fail(input, 'arguments must be an object')
  return args as Args
}

function string (input: string, args: Args, key: string, opts: { optional?: boolean, max?: number } = {}): string | undefined {
  const value = args[key]
  if (value === undefined && opts.optional) return undefined
  if (typeof value !== 'string' || value.length === 0) fail(input, `"${key}" must be a non-empty string`)
  if (opts.max !== undefined && value.length > opts.max) fail(input, `"${key}" must be at most ${opts.max} characters`)
  return value
}

function requiredString (input: string, args: Args, key: string, max = 10_000): string {
  return string(input, args, key, { max })!
}

function finiteNumber (input: string, args: Args, key: string): number {
  const value = args[key]
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(input, `"${key}" must be a finite number`)
  return value
}

function boolean (input: string, args: Args, key: string): boolean {
  const value = args[key]
  if (typeof value !== 'boolean') fail(input, `"${key}" must be true or false`)
  return value
}

function tile (game: Game, input: string, value: unknown, key: string): Point {
  if (typeof value !== 'object' || value === null) fail(input, `"${key}" must be an object {x, y}`)
  const { x, y } = value as Args
  if (!Number.isInteger(x) || !Number.isInteger(y)) fail(input, `"${key}" must have integer x and y (a tile)`)
  const px = x as number
  const py = y as number
  if (px < 0 || py < 0 || px >= game.grid.width || py >= game.grid.height) {
    fail(input, `"${key}" (${px}, ${py}) is outside the ${game.grid.width}x${game.grid.height} map`)
  }
  return { x: px, y: py }
}

/**
 * The player named by `key`. The acting player (`playerId`) is marked active even if the
 * input fails later: for the idle rule any input counts (the original only counted join).
 */
function player (game: Game, input: string, args: Args, key = 'playerId'): Player {
  const id = requiredString(input, args, key, 64)
  const found = playerById(game, id)
  if (!found) fail(input, `unknown player ${id}`)
  if (key === 'playerId') found.lastInput = game.now
  return found
}

function conversation (game: Game, input: string, args: Args): Conversation {
  const id = requiredString(input, args, 'conversationId', 64)
  const found = conversationById(game, id)
  if (!found) fail(input, `unknown conversation ${id} (it may have ended)`)
  return found
}

function activity (input: string, value: unknown): Activity {
  if (typeof value !== 'object' || value === null) fail(input, '"activity" must be an object {description, emoji?, until}')
  const a = value as Args
  const description = requiredString(input, a, 'description', 200)
  const emoji = string(input, a, 'emoji', { optional: true, max: 16 })
  const until = finiteNumber(input, a, 'until')
  return emoji === undefined ? { description, until } : { description, emoji, until }
}

type Handler = (game: Game, args: Args) => unknown

const handlers: Record<string, Handler> = {
  join (game, args) {
    const name = requiredString('join', args, 'name', 100)
    const character = requiredString('join', args, 'character', 16)
    if (!(CHARACTERS as readonly string[]).includes(character)) {
      fail('join', `"character" must be one of ${CHARACTERS.join(', ')}`)
    }
    const description = requiredString('join', args, 'description', 10_000)
    const tokenIdentifier = string('join', args, 'tokenIdentifier', { optional: true, max: 500 })
    return joinWorld(game, { name, character, description, ...(tokenIdentifier !== undefined ? { tokenIdentifier } : {}) })
  },

  leave (game, args) {
    const p = player(game, 'leave', args)
    removePlayer(game, p.id)
    return null
  },

  moveTo (game, args) {
    const p = player(game, 'moveTo', args)
    if (!('destination' in args)) fail('moveTo', '"destination" is required ({x, y} or null)')
    const destination = args.destination === null ? null : tile(game, 'moveTo', args.destination, 'destination')
    movePlayer(game, p, destination)
    return null
  },

  startConversation (game, args) {
    const p = player(game, 'startConversation', args)
    const invitee = player(game, 'startConversation', args, 'invitee')
    return startConversation(game, p, invitee)
  },

  startTyping (game, args) {
    const p = player(game, 'startTyping', args)
    const c = conversation(game, 'startTyping', args)
    const messageUuid = requiredString('startTyping', args, 'messageUuid', 100)
    startTyping(game, p, c, messageUuid)
    return null
  },

  finishSendingMessage (game, args) {
    const p = player(game, 'finishSendingMessage', args)
    const c = conversation(game, 'finishSendingMessage', args)
    const timestamp = finiteNumber('finishSendingMessage', args, 'timestamp')
    finishSendingMessage(game, p, c, timestamp)
    return null
  },

  acceptInvite (game, args) {
    const p = player(game, 'acceptInvite', args)
    const c = conversation(game, 'acceptInvite', args)
    acceptInvite(game, p, c)
    return null
  },

  rejectInvite (game, args) {
    const p = player(game, 'rejectInvite', args)
    const c = conversation(game, 'rejectInvite', args)
    rejectInvite(game, p, c)
    return null
  },

  leaveConversation (game, args) {
    const p = player(game, 'leaveConversation', args)
    const c = conversation(game, 'leaveConversation', args)
    leaveConversation(game, p, c)
    return null
  },

  createAgent (game, args) {
    const index = args.descriptionIndex
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= game.cast.length) {
      fail('createAgent', `"descriptionIndex" must be an integer from 0 to ${game.cast.length - 1}`)
    }
    const character = game.cast[index as number]
    const playerId = joinWorld(game, { name: character.name, character: character.character, description: character.identity })
    const agent: Agent = { id: allocateId(game, 'a'), playerId }
    game.world.agents.push(agent)
    addedAgent(game, agent)
    game.out.agentDescriptions.push({ agentId: agent.id, identity: character.identity, plan: character.plan })
    return { agentId: agent.id, playerId }
  },

  finishRememberConversation (game, args) {
    const operationId = requiredString('finishRememberConversation', args, 'operationId', 64)
    const agentId = requiredString('finishRememberConversation', args, 'agentId', 64)
    finishRememberConversation(game, agentId, operationId)
    return null
  },

  finishDoSomething (game, args) {
    const input = 'finishDoSomething'
    const operationId = requiredString(input, args, 'operationId', 64)
    const agentId = requiredString(input, args, 'agentId', 64)
    const destination = args.destination === undefined ? undefined : tile(game, input, args.destination, 'destination')
    const invitee = string(input, args, 'invitee', { optional: true, max: 64 })
    const act = args.activity === undefined ? undefined : activity(input, args.activity)
    finishDoSomething(game, {
      operationId,
      agentId,
      ...(destination ? { destination } : {}),
      ...(invitee !== undefined ? { invitee } : {}),
      ...(act ? { activity: act } : {})
    })
    return null
  },

  agentFinishSendingMessage (game, args) {
    const input = 'agentFinishSendingMessage'
    agentFinishSendingMessage(game, {
      agentId: requiredString(input, args, 'agentId', 64),
      conversationId: requiredString(input, args, 'conversationId', 64),
      timestamp: finiteNumber(input, args, 'timestamp'),
      operationId: requiredString(input, args, 'operationId', 64),
      leaveConversation: boolean(input, args, 'leaveConversation')
    })
    return null
  }
}

export const INPUT_NAMES: readonly string[] = Object.keys(handlers)

/** Applies one input at the game's current time; throws GameError on bad arguments or broken rules. */
export function applyInput (game: Game, name: string, args: unknown): unknown {
  const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined
  if (!handler) throw new GameError(`unknown input "${name}"`)
  return handler(game, objectArgs(name, args))
}
