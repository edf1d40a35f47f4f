// /api/admin/worlds: the operator makes, lists, archives and deletes worlds (ADMIN_API_KEY). Its own folder: autoload reads only the index of a folder that has one.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { errorResponses } from '../../../../src/schemas.ts'
import { AdminDisabledError, ForbiddenError, UnauthorizedError } from '../../../../src/api/errors.ts'
import { archiveWorld, createWorldFrom, deleteWorld, listWorlds, worldListItem, worldStatus } from '../../../../src/engine/worlds.ts'
import { forkWorld } from '../../../../src/engine/fork.ts'

const ErrorRef = Type.Ref('ErrorResponse')
const errors = errorResponses({ body: true, credentials: true, extra: [409] })
const CastEntry = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64 }),
  // f1..f8, checked by the cast's own validation, whose message names the entry and the sprites there are.
  character: Type.String({ minLength: 1, maxLength: 16, description: 'a character sprite: f1..f8' }),
  identity: Type.String({ minLength: 1, maxLength: 4000 }),
  plan: Type.String({ minLength: 1, maxLength: 1000 })
})
const WorldParams = Type.Object({ worldId: Type.String({ minLength: 1, maxLength: 200 }) })

export const WorldListItemSchema = Type.Object({
  worldId: Type.String(),
  engineId: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('stoppedByDeveloper'), Type.Literal('inactive'), Type.Literal('archived'), Type.Literal('deleting'), Type.Literal('forking')]),
  isDefault: Type.Boolean(),
  createdAt: Type.Number(),
  lastViewed: Type.Number(),
  forkedFrom: Type.Optional(Type.Object({ worldId: Type.String(), step: Type.Number() }))
})

const worlds: FastifyPluginAsyncTypebox = async (fastify) => {
  const tags = ['admin']
  const security = [{ bearer: [] }]
  // Auth before the body is read: a create carries a whole map.
  fastify.addHook('onRequest', async (request: FastifyRequest) => {
    if (fastify.config.ADMIN_API_KEY === undefined) throw new AdminDisabledError()
    if (request.caller.kind === 'anonymous') throw new UnauthorizedError('world management needs the admin key (Authorization: Bearer <ADMIN_API_KEY>)')
    if (request.caller.kind !== 'admin') throw new ForbiddenError('world management is for the admin only')
  })

  fastify.post('/', {
    schema: {
      tags,
      security,
      description: 'Create a world from a map (townhall\'s { rows, legend? } or AI Town\'s serialized map), a cast and settings; it starts running on an instance within seconds. A bad map or cast is a 400 naming the field, and nothing is written.',
      body: Type.Object({
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
        map: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.String({ minLength: 1 })],
          { description: 'townhall\'s { rows, legend?, buildings? }, AI Town\'s serialized map, or the text of its data module (gentle.js); default: townhall\'s town' })),
        cast: Type.Optional(Type.Union([Type.Array(CastEntry, { minItems: 1, maxItems: 64 }), Type.Object({ characters: Type.Array(CastEntry, { minItems: 1, maxItems: 64 }) })],
          { description: 'an array of { name, character: f1..f8, identity, plan } with distinct names (or { characters: [...] }); default: townhall\'s cast' })),
        agents: Type.Optional(Type.Integer({ minimum: 0, description: 'how many of the cast start as agents (default: all)' })),
        seed: Type.Optional(Type.Union([Type.Integer(), Type.String({ minLength: 1, maxLength: 200 })]))
      }, { additionalProperties: false }),
      response: { 201: WorldListItemSchema, ...errors }
    },
    // A big town's serialized map runs to a few megabytes of JSON.
    bodyLimit: 32 * 1024 * 1024
  }, async (request, reply) => {
    const status = await createWorldFrom(fastify.store, request.body, Date.now())
    request.log.info({ worldId: status.worldId, name: status.name }, 'world created')
    return await reply.code(201).send(worldListItem(status))
  })

  fastify.get('/', {
    schema: { tags, security, description: 'Every world with its name and status, oldest first.', response: { 200: Type.Array(WorldListItemSchema), ...errors } }
  }, async () => await listWorlds(fastify.store))

  fastify.post('/:worldId/archive', {
    schema: {
      tags,
      security,
      description: 'Stop a world for good and keep its data: from then on it is read-only (inputs and joins get a 409). Idempotent.',
      params: WorldParams,
      response: { 200: WorldListItemSchema, 404: ErrorRef, 409: ErrorRef, ...errors }
    }
  }, async (request) => worldListItem(await archiveWorld(fastify.store, request.params.worldId)))

  fastify.post('/:worldId/fork', {
    schema: {
      tags,
      security,
      description: 'Make a new world from this one as it was after a kept step (rebuilt from its snapshots and inputs): its own ids, engine and input numbering, with copies of the descriptions, archived rows, messages and memories it had by then. It starts running within seconds; the original is untouched. A step outside the kept range is a 400 naming the range.',
      params: WorldParams,
      body: Type.Object({
        atStep: Type.Integer({ minimum: 0, description: 'the step to fork at: from the oldest kept snapshot to the committed step' }),
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'default: "<original name> (fork at step N)"' }))
      }, { additionalProperties: false }),
      response: { 201: WorldListItemSchema, 404: ErrorRef, 409: ErrorRef, ...errors }
    }
  }, async (request, reply) => {
    const { atStep, name } = request.body
    const status = await forkWorld(fastify.store, request.params.worldId, { atStep, name, now: Date.now(), index: fastify.vectorIndex })
    request.log.info({ worldId: status.worldId, forkedFrom: status.forkedFrom }, 'world forked')
    return await reply.code(201).send(worldListItem(status))
  })

  fastify.delete('/:worldId', {
    schema: {
      tags,
      security,
      description: 'Delete a world and everything it owns (engine, inputs, messages, memories and their vectors, usage, map, descriptions, archived rows). Idempotent: a delete cut short is finished by calling it again.',
      params: WorldParams,
      response: {
        200: Type.Object({ worldId: Type.String(), removed: Type.Record(Type.String(), Type.Integer()) }),
        404: ErrorRef,
        ...errors
      }
    }
  }, async (request) => {
    await worldStatus(fastify.store, request.params.worldId)
    const report = await deleteWorld(fastify.store, request.params.worldId, { index: fastify.vectorIndex })
    request.log.info({ worldId: report.worldId, removed: report.removed }, 'world deleted')
    return report
  })
}

export default worlds
