// world:* — the world, its engine, its map and descriptions, and the human player's own actions.
import { Type, type Static } from 'typebox'
import { defineFunction, type FunctionContext } from '../registry.ts'
import { mapForClients } from '../../game/data/mapView.ts'
import { randomInt } from 'node:crypto'
import { ForbiddenError, NotFoundError } from '../errors.ts'
import { loadWorld } from '../../engine/worldDoc.ts'
import { assertEngineWritable, assertWritable, heartbeat, listWorlds, sendInput, worldStatus, WorldNotFoundError } from '../../engine/worlds.ts'
import { submitInput } from '../../engine/inputs.ts'
import { recordedHuman } from '../../engine/outbox.ts'
import type { EngineDoc, Outbox, WorldDoc, WorldStatusDoc } from '../../engine/types.ts'
import type { StoredWorldDoc } from '../../engine/worldDoc.ts'
import { clientEngine, clientWorld, clientWorldStatus } from '../aiTownView.ts'
import { Anything, Id, InputId, WorldId, WorldStatus } from './schemas.ts'
import { pausedState } from '../../llm/controls.ts'

/** A world's status as clients read it, with whether its agents may use the LLM (docs/LLM.md); for every world status function. */
export const WorldStatusWithLlm = Type.Object({
  ...WorldStatus.properties,
  budgetExceeded: Type.Boolean({ description: 'the world has spent its LLM budget for this hour or day: agents wander and do activities, without conversations' }),
  llmPaused: Type.Boolean({ description: 'an operator paused LLM use of this world or of the whole deployment' })
})

export async function withLlmStatus (ctx: FunctionContext, status: WorldStatusDoc): Promise<Static<typeof WorldStatusWithLlm>> {
  const paused = await pausedState(ctx.store, status.worldId)
  return { ...clientWorldStatus(status), budgetExceeded: (status as { budgetExceeded?: boolean }).budgetExceeded === true, llmPaused: paused.deployment || paused.world }
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
  _id: Type.String({ description: 'the engine id' }),
  _creationTime: Type.Number(),
  currentTime: Type.Number(),
  lastStepTs: Type.Number(),
  processedInputNumber: Type.Number(),
  running: Type.Boolean(),
  generationNumber: Type.Number()
})

/** How far back world:previousConversation looks for a conversation with messages. */
const PREVIOUS_CONVERSATIONS_LOOKED_AT = 100

const playerSet = (value: unknown): string => ((value as { world?: { players?: Array<{ id: string }> } } | null)?.world?.players ?? []).map((p) => p.id).join(',')

const matchesWorld = (worldId: string, e: { collection: string, id: string, doc?: Record<string, unknown> }): boolean =>
  e.doc === undefined || e.id === worldId || e.doc.worldId === worldId

export const worldFunctions = [
  defineFunction({
    path: 'world:listWorlds',
    kind: 'query',
    access: 'public',
    description: 'Every world (id, name, status, default, fork origin), oldest first: what the viewer\'s world switcher lists.',
    args: Type.Object({}),
    returns: Type.Array(Type.Object({
      worldId: Type.String(),
      engineId: Type.String(),
      name: Type.String(),
      status: Type.String(),
      isDefault: Type.Boolean(),
      createdAt: Type.Number(),
      lastViewed: Type.Number(),
      forkedFrom: Type.Optional(Type.Object({ worldId: Type.String(), step: Type.Number() }))
    })),
    tables: ['worldStatus'],
    handler: async (ctx) => await listWorlds(ctx.store)
  }),
  defineFunction({
    path: 'world:defaultWorldStatus',
    kind: 'query',
    access: 'public',
    description: 'The default world and its engine, or null before it exists.',
    args: Type.Object({}),
    returns: Type.Union([WorldStatusWithLlm, Type.Null()]),
    tables: ['worldStatus', 'llmControls'],
    handler: async (ctx) => {
      try {
        return await withLlmStatus(ctx, await worldStatus(ctx.store))
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
    description: 'The live world (players, agents, conversations and the last step\'s packed movement, in AI Town\'s shapes) and its engine clock; changes every step.',
    args: Type.Object({ worldId: WorldId }),
    returns: Type.Object({
      world: Type.Object({
        _id: Type.String({ description: 'the world id' }),
        _creationTime: Type.Number(),
        nextId: Type.Number(),
        players: Type.Array(Anything, { description: 'AI Town\'s serialized players: paths as [x, y, dx, dy, t]; human = the token identifier world:userStatus returns to that human' }),
        agents: Type.Array(Anything),
        conversations: Type.Array(Anything, { description: 'participants as {playerId, invited, status: {kind, started?}}' }),
        historicalLocations: Type.Optional(Type.Array(Type.Object({ playerId: Type.String(), location: Anything }), { description: 'per player, the last step\'s samples packed as AI Town packs them (bytes)' }))
      }),
      engine: Engine
    }),
    tables: ['worlds', 'engines'],
    affectedBy: (e, args) => matchesWorld(args.worldId, e),
    // AI Town's front end throws on a player without a description: when the players change, the
    // descriptions are re-read after the world and go out in the same update.
    companion: { path: 'world:gameDescriptions', when: (before, after) => playerSet(before) !== playerSet(after) },
    handler: async (ctx, { worldId }) => {
      const world = await requireWorld(ctx, worldId)
      const engine = await ctx.store.collection<EngineDoc>('engines').findOne({ _id: world.engineId })
      return { world: clientWorld(world), engine: clientEngine(world, engine) }
    }
  }),
  defineFunction({
    path: 'world:gameDescriptions',
    kind: 'query',
    access: 'public',
    description: 'The map (AI Town\'s serialized world map: tileset, tile layers, animated sprites) and the player and agent descriptions.',
    args: Type.Object({ worldId: WorldId }),
    returns: Type.Object({ worldMap: Anything, playerDescriptions: Type.Array(Anything), agentDescriptions: Type.Array(Anything) }),
    tables: ['maps', 'playerDescriptions', 'agentDescriptions'],
    affectedBy: (e, args) => matchesWorld(args.worldId, e),
    handler: async (ctx, { worldId }) => {
      const map = await ctx.store.collection('maps').findOne({ worldId })
      if (map === null) throw new NotFoundError(`no world ${worldId}`)
      // A step's new descriptions wait in the world's outbox until it is applied: read them too, so a player
      // the world already shows always has its description. The outbox first: it is cleared only after its
      // descriptions are written, so whatever it no longer holds, the collections below already do.
      const world = await ctx.store.collection<StoredWorldDoc>('worlds').findOne({ _id: worldId })
      const players = await ctx.store.collection('playerDescriptions').find({ worldId })
      const agents = await ctx.store.collection('agentDescriptions').find({ worldId })
      const pending: Partial<Outbox> = world?.outbox ?? {}
      const pendingPlayers = (pending.playerDescriptions ?? []).filter((d) => !players.some((p) => p.playerId === d.playerId))
      const pendingAgents = (pending.agentDescriptions ?? []).filter((d) => !agents.some((a) => a.agentId === d.agentId))
      return {
        worldMap: mapForClients(map, ctx.publicUrl),
        playerDescriptions: [...players, ...pendingPlayers.map((d) => ({ _id: `pending:${d.playerId}`, _creationTime: world?.step.currentTime ?? 0, worldId, ...d }))],
        agentDescriptions: [...agents, ...pendingAgents.map((d) => ({ _id: `pending:${d.agentId}`, _creationTime: world?.step.currentTime ?? 0, worldId, ...d }))]
      }
    }
  }),
  defineFunction({
    path: 'world:userStatus',
    kind: 'query',
    access: 'public',
    description: 'The caller\'s token identifier (the `human` field of its player, once joined), or null for a caller without identity.',
    args: Type.Object({ worldId: WorldId }),
    returns: Type.Union([Type.String(), Type.Null()]),
    perCaller: true,
    handler: async (ctx) => ctx.caller.kind === 'player' ? ctx.caller.tokenIdentifier : null
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
      // Newest first; a conversation nobody spoke in is skipped, as AI Town does.
      const rows = await ctx.store.collection('participatedTogether').find({ worldId, player1: playerId }, { sort: { ended: -1 }, limit: PREVIOUS_CONVERSATIONS_LOOKED_AT })
      for (const row of rows) {
        const conversation = await ctx.store.collection('archivedConversations').findOne({ worldId, id: row.conversationId as string })
        if (conversation !== null && (conversation.numMessages as number) > 0) return conversation
      }
      return null
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
    access: 'player',
    description: 'Join as a human player, as the caller\'s identity (a Convex sync session\'s own, or a token from auth:newPlayerToken). Returns the join input\'s id: watch it with aiTown/main:inputStatus.',
    args: Type.Object({
      worldId: WorldId,
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      character: Type.Optional(Type.String({ pattern: '^f[1-8]$', description: 'sprite f1..f8 (default: one at random)' })),
      description: Type.Optional(Type.String({ minLength: 1, maxLength: 500 }))
    }),
    returns: InputId,
    handler: async (ctx, args) => {
      if (ctx.caller.kind !== 'player') throw new ForbiddenError('joining needs an identity')
      const name = args.name ?? 'Me'
      const input = await sendInput(ctx.store, args.worldId, 'join', {
        name,
        character: args.character ?? `f${1 + randomInt(8)}`,
        description: args.description ?? `${name} is a human player`,
        tokenIdentifier: ctx.caller.tokenIdentifier
      }, ctx.now).catch((err: unknown) => {
        if (err instanceof WorldNotFoundError) throw new NotFoundError(`no world ${args.worldId}`)
        throw err
      })
      return input._id
    }
  }),
  defineFunction({
    path: 'world:leaveWorld',
    kind: 'mutation',
    access: 'player',
    description: 'Leave the world (your player is archived). Returns the leave input\'s id, or null when you have no player there.',
    args: Type.Object({ worldId: WorldId }),
    returns: Type.Union([InputId, Type.Null()]),
    handler: async (ctx, { worldId }) => {
      const world = await requireWorld(ctx, worldId)
      if (ctx.caller.kind !== 'player') return null
      const { tokenIdentifier } = ctx.caller
      const player = world.players.find((p) => p.human === tokenIdentifier)
      if (player === undefined) return null
      await assertEngineWritable(ctx.store, world.engineId)
      const input = await submitInput(ctx.store, world.engineId, 'leave', { playerId: player.id }, { now: ctx.now })
      return input._id
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
    returns: InputId,
    handler: async (ctx, { engineId, name, args }) => {
      const status = await ctx.store.collection<WorldStatusDoc>('worldStatus').findOne({ engineId })
      if (status === null) throw new NotFoundError(`no engine ${engineId}`)
      assertWritable(status)
      // The caller is found in the world's small record of its humans; only a miss loads the whole world.
      const known = ctx.caller.kind === 'player' && recordedHuman(status, ctx.caller.tokenIdentifier, args.playerId)
      const playerId = known ? args.playerId : await callerPlayerId(ctx, await requireWorld(ctx, status.worldId))
      if (args.playerId !== playerId) throw new ForbiddenError(`you are ${playerId}: a player acts only for itself, not for ${args.playerId}`)
      const input = await submitInput(ctx.store, engineId, name, args, { now: ctx.now })
      return input._id
    }
  })
]
