// world:* — the world, its engine, its map and descriptions, and the human player's own actions.
import { Type } from 'typebox'
import { defineFunction, type FunctionContext } from '../registry.ts'
import { newPlayerToken } from '../auth.ts'
import { ForbiddenError, NotFoundError } from '../errors.ts'
import { loadWorld } from '../../engine/worldDoc.ts'
import { heartbeat, sendInput, worldStatus, WorldNotFoundError } from '../../engine/worlds.ts'
import { submitInput } from '../../engine/inputs.ts'
import type { EngineDoc, WorldDoc, WorldStatusDoc } from '../../engine/types.ts'
import { Anything, Id, InputRef, WorldId, WorldStatus } from './schemas.ts'

function statusView (s: WorldStatusDoc): { worldId: string, engineId: string, status: string, isDefault: boolean, lastViewed: number } {
  return { worldId: s.worldId, engineId: s.engineId, status: s.status, isDefault: s.isDefault, lastViewed: s.lastViewed }
}

export async function requireWorld (ctx: FunctionContext, worldId: string): Promise<WorldDoc> {
  const world = await loadWorld(ctx.store, worldId)
  if (world === null) throw new NotFoundError(`no world ${worldId}`)
  return world
}

/** The caller's own player in a world, or a 403 that says why not. */
export async function callerPlayerId (ctx: FunctionContext, world: WorldDoc): Promise<string> {
  if (ctx.caller.kind !== 'player') throw new ForbiddenError('only a joined human player can do this')
  const { tokenIdentifier } = ctx.caller
  const player = world.players.find((p) => p.human === tokenIdentifier)
  if (player === undefined) throw new ForbiddenError('your token has no player in this world (join first, or you have left)')
  return player.id
}

const Engine = Type.Object({
  engineId: Type.String(),
  currentTime: Type.Number(),
  lastStepTs: Type.Number(),
  processedInputNumber: Type.Number(),
  running: Type.Boolean(),
  generationNumber: Type.Number()
})

const matchesWorld = (worldId: string, e: { collection: string, id: string, doc?: Record<string, unknown> }): boolean =>
  e.doc === undefined || e.id === worldId || e.doc.worldId === worldId

export const worldFunctions = [
  defineFunction({
    path: 'world:defaultWorldStatus',
    kind: 'query',
    access: 'public',
    description: 'The default world and its engine, or null before it exists.',
    args: Type.Object({}),
    returns: Type.Union([WorldStatus, Type.Null()]),
    tables: ['worldStatus'],
    handler: async (ctx) => {
      try {
        return statusView(await worldStatus(ctx.store))
      } catch (err) {
        if (err instanceof WorldNotFoundError) return null
        throw err
      }
    }
  }),
  defineFunction({
    path: 'world:worldState',
    kind: 'query',
    access: 'public',
    description: 'The live world (players, agents, conversations) and its engine clock; changes every step.',
    args: Type.Object({ worldId: WorldId }),
    returns: Type.Object({
      world: Type.Object({ worldId: Type.String(), nextId: Type.Number(), players: Type.Array(Anything), agents: Type.Array(Anything), conversations: Type.Array(Anything) }),
      engine: Engine
    }),
    tables: ['worlds', 'engines'],
    affectedBy: (e, args) => matchesWorld(args.worldId, e),
    handler: async (ctx, { worldId }) => {
      const world = await requireWorld(ctx, worldId)
      const engine = await ctx.store.collection<EngineDoc>('engines').findOne({ _id: world.engineId })
      return {
        // A human's token hash stays on the server: viewers only learn that the player is human.
        world: { worldId, nextId: world.nextId, players: world.players.map((p) => p.human === undefined ? p : { ...p, human: true }), agents: world.agents, conversations: world.conversations },
        engine: {
          engineId: world.engineId,
          // The world document's step state is the committed truth; the engine record adds control fields.
          currentTime: world.step.currentTime,
          lastStepTs: world.step.lastStepTs,
          processedInputNumber: world.step.processedInputNumber,
          running: engine?.running ?? false,
          generationNumber: engine?.generationNumber ?? world.step.generation
        }
      }
    }
  }),
  defineFunction({
    path: 'world:locations',
    kind: 'query',
    access: 'public',
    description: 'The last step\'s packed location history, for smooth movement between steps (binary over WebSocket, base64 over HTTP).',
    args: Type.Object({ worldId: WorldId }),
    returns: Type.Object({ worldId: Type.String(), step: Type.Number(), from: Type.Number(), to: Type.Number(), data: Anything }),
    tables: ['worlds'],
    affectedBy: (e, args) => e.id === args.worldId,
    binary: true,
    handler: async (ctx, { worldId }) => {
      const world = await requireWorld(ctx, worldId)
      return { worldId, step: world.step.number, from: world.step.lastStepTs, to: world.step.currentTime, data: world.historicalLocations ?? new Uint8Array(0) }
    }
  }),
  defineFunction({
    path: 'world:gameDescriptions',
    kind: 'query',
    access: 'public',
    description: 'The map (with its colour legend) and the player and agent descriptions.',
    args: Type.Object({ worldId: WorldId }),
    returns: Type.Object({ worldMap: Anything, playerDescriptions: Type.Array(Anything), agentDescriptions: Type.Array(Anything) }),
    tables: ['maps', 'playerDescriptions', 'agentDescriptions'],
    affectedBy: (e, args) => matchesWorld(args.worldId, e),
    handler: async (ctx, { worldId }) => {
      const map = await ctx.store.collection('maps').findOne({ worldId })
      if (map === null) throw new NotFoundError(`no world ${worldId}`)
      const { _id, _creationTime, ...worldMap } = map
      const strip = <T extends Record<string, unknown>>(d: T): Omit<T, '_id' | '_creationTime'> => {
        const { _id: _a, _creationTime: _b, ...rest } = d
        return rest
      }
      return {
        worldMap,
        playerDescriptions: (await ctx.store.collection('playerDescriptions').find({ worldId })).map(strip),
        agentDescriptions: (await ctx.store.collection('agentDescriptions').find({ worldId })).map(strip)
      }
    }
  }),
  defineFunction({
    path: 'world:userStatus',
    kind: 'query',
    access: 'public',
    description: 'The calling human\'s player id in this world, or null.',
    args: Type.Object({ worldId: WorldId }),
    returns: Type.Union([Type.String(), Type.Null()]),
    tables: ['worlds'],
    affectedBy: (e, args) => e.id === args.worldId,
    perCaller: true,
    handler: async (ctx, { worldId }) => {
      if (ctx.caller.kind !== 'player') return null
      const { tokenIdentifier } = ctx.caller
      const world = await requireWorld(ctx, worldId)
      return world.players.find((p) => p.human === tokenIdentifier)?.id ?? null
    }
  }),
  defineFunction({
    path: 'world:previousConversation',
    kind: 'query',
    access: 'public',
    description: 'The last conversation this player took part in, once it has ended.',
    args: Type.Object({ worldId: WorldId, playerId: Id('a player id such as p:3') }),
    returns: Type.Union([Anything, Type.Null()]),
    tables: ['participatedTogether', 'archivedConversations'],
    affectedBy: (e, args) => matchesWorld(args.worldId, e),
    handler: async (ctx, { worldId, playerId }) => {
      const last = await ctx.store.collection('participatedTogether').findOne({ worldId, player1: playerId }, { sort: { ended: -1 } })
      if (last === null) return null
      const conversation = await ctx.store.collection('archivedConversations').findOne({ worldId, id: last.conversationId as string })
      if (conversation === null) return null
      const { _id, _creationTime, ...rest } = conversation
      return rest
    }
  }),
  defineFunction({
    path: 'world:presence',
    kind: 'query',
    access: 'public',
    description: 'How many clients are watching this world right now, across all instances (shared through Redis when configured).',
    args: Type.Object({ worldId: WorldId }),
    returns: Type.Object({ viewers: Type.Integer() }),
    handler: async (ctx, { worldId }) => ({ viewers: ctx.viewers?.(worldId) ?? 0 })
  }),
  defineFunction({
    path: 'world:heartbeatWorld',
    kind: 'mutation',
    access: 'public',
    description: 'Someone is watching: keeps the world running, and wakes it if it went idle.',
    args: Type.Object({ worldId: WorldId }),
    returns: Type.Null(),
    handler: async (ctx, { worldId }) => {
      await heartbeat(ctx.store, worldId, ctx.now())
      return null
    }
  }),
  defineFunction({
    path: 'world:joinWorld',
    kind: 'mutation',
    access: 'public',
    description: 'Join as a human player. Returns the join input and a token that identifies you from now on.',
    args: Type.Object({
      worldId: WorldId,
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      character: Type.Optional(Type.String({ pattern: '^f[1-8]$', description: 'sprite f1..f8' })),
      description: Type.Optional(Type.String({ minLength: 1, maxLength: 500 }))
    }),
    returns: Type.Object({ inputId: Type.String(), token: Type.String({ description: 'send as Authorization: Bearer <token>' }) }),
    handler: async (ctx, args) => {
      const { token, tokenIdentifier } = newPlayerToken()
      const input = await sendInput(ctx.store, args.worldId, 'join', {
        name: args.name ?? 'Visitor',
        character: args.character ?? 'f1',
        description: args.description ?? 'A visitor who has just arrived in town.',
        tokenIdentifier
      }, ctx.now).catch((err: unknown) => {
        if (err instanceof WorldNotFoundError) throw new NotFoundError(`no world ${args.worldId}`)
        throw err
      })
      return { inputId: input._id, token }
    }
  }),
  defineFunction({
    path: 'world:leaveWorld',
    kind: 'mutation',
    access: 'player',
    description: 'Leave the world (your player is archived).',
    args: Type.Object({ worldId: WorldId }),
    returns: InputRef,
    handler: async (ctx, { worldId }) => {
      const world = await requireWorld(ctx, worldId)
      const playerId = await callerPlayerId(ctx, world)
      const input = await submitInput(ctx.store, world.engineId, 'leave', { playerId }, { now: ctx.now })
      return { inputId: input._id }
    }
  }),
  defineFunction({
    path: 'world:sendWorldInput',
    kind: 'mutation',
    access: 'player',
    description: 'Send a game input as your player: moveTo, startConversation, acceptInvite, rejectInvite, leaveConversation, startTyping.',
    args: Type.Object({
      engineId: Id('the world\'s engine id'),
      name: Type.Union([
        Type.Literal('moveTo'), Type.Literal('startConversation'), Type.Literal('acceptInvite'),
        Type.Literal('rejectInvite'), Type.Literal('leaveConversation'), Type.Literal('startTyping')
      ]),
      // The input's own arguments are checked by the game; here only that they name the caller's player.
      args: Type.Intersect([Type.Object({ playerId: Id('your own player id') }), Type.Record(Type.String(), Type.Unknown())])
    }),
    returns: InputRef,
    handler: async (ctx, { engineId, name, args }) => {
      const status = await ctx.store.collection<WorldStatusDoc>('worldStatus').findOne({ engineId })
      if (status === null) throw new NotFoundError(`no engine ${engineId}`)
      const world = await requireWorld(ctx, status.worldId)
      const playerId = await callerPlayerId(ctx, world)
      if (args.playerId !== playerId) throw new ForbiddenError(`you are ${playerId}: a player acts only for itself, not for ${args.playerId}`)
      const input = await submitInput(ctx.store, engineId, name, args, { now: ctx.now })
      return { inputId: input._id }
    }
  })
]
