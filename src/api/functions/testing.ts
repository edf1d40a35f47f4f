// testing:* — the operator's functions (admin key): stop, resume, kick, wipe, debug players.
import { Type } from 'typebox'
import { defineFunction } from '../registry.ts'
import { addDebugPlayers, kickWorld, resumeWorld, stopWorld, wipe, worldStatus } from '../../engine/worlds.ts'
import { WorldStatus } from './schemas.ts'
import { clientWorldStatus } from '../aiTownView.ts'

const OptionalWorld = Type.Object({ worldId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) })

const view = clientWorldStatus

export const testingFunctions = [
  defineFunction({
    path: 'testing:stopAllowed',
    kind: 'query',
    access: 'public',
    description: 'Whether the caller may stop and resume the world (AI Town\'s freeze button): true for the admin key only.',
    args: Type.Object({}),
    returns: Type.Boolean(),
    perCaller: true,
    handler: async (ctx) => ctx.adminEnabled && ctx.caller.kind === 'admin'
  }),
  defineFunction({
    path: 'testing:stop',
    kind: 'mutation',
    access: 'admin',
    description: 'Stop the world\'s engine; it stays stopped (heartbeats do not wake it) until resumed.',
    args: OptionalWorld,
    returns: WorldStatus,
    handler: async (ctx, { worldId }) => view(await stopWorld(ctx.store, worldId, ctx.now()))
  }),
  defineFunction({
    path: 'testing:resume',
    kind: 'mutation',
    access: 'admin',
    description: 'Resume a stopped or inactive world.',
    args: OptionalWorld,
    returns: WorldStatus,
    handler: async (ctx, { worldId }) => view(await resumeWorld(ctx.store, worldId, ctx.now()))
  }),
  defineFunction({
    path: 'testing:kick',
    kind: 'mutation',
    access: 'admin',
    description: 'Fence off the current runner; a fresh one takes over within seconds.',
    args: OptionalWorld,
    returns: WorldStatus,
    handler: async (ctx, { worldId }) => {
      await kickWorld(ctx.store, worldId)
      return view(await worldStatus(ctx.store, worldId))
    }
  }),
  defineFunction({
    path: 'testing:wipe',
    kind: 'action',
    access: 'admin',
    description: 'Delete all data except the embeddings cache.',
    args: Type.Object({ confirm: Type.Literal(true) }),
    returns: Type.Object({ removed: Type.Record(Type.String(), Type.Number()) }),
    handler: async (ctx) => ({ removed: await wipe(ctx.store) })
  }),
  defineFunction({
    path: 'testing:debugPlayers',
    kind: 'action',
    access: 'admin',
    description: 'Add wandering debug players.',
    args: Type.Object({ worldId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), count: Type.Integer({ minimum: 1, maximum: 1000 }) }),
    returns: Type.Object({ inputIds: Type.Array(Type.String()) }),
    handler: async (ctx, { worldId, count }) => ({ inputIds: (await addDebugPlayers(ctx.store, worldId, count, ctx.now)).map((i) => i._id) })
  })
]
