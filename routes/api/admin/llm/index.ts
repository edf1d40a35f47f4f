// /api/admin/llm (a folder: routes/api/admin/index.ts keeps autoload from loading sibling files): the kill switch and budgets (ADMIN_API_KEY). Pause or resume all LLM use of one world
// or of the whole deployment; read and set a world's budget. Stored, so it holds across restarts and instances.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { BODY_OPTIONAL, errorResponses } from '../../../../src/schemas.ts'
import { AdminDisabledError, ForbiddenError, NotFoundError, UnauthorizedError } from '../../../../src/api/errors.ts'
import { BUDGET_KEYS, type Budget } from '../../../../src/llm/controls.ts'

const errors = errorResponses({ body: true, credentials: true, extra: [409] })
const WorldId = Type.String({ minLength: 1, maxLength: 200 })

const Limit = Type.Union([Type.Number({ minimum: 0 }), Type.Null()], { description: 'a limit, or null for none' })
const limits = (description: string): ReturnType<typeof Type.Object> => Type.Object({
  tokensPerHour: Type.Optional(Limit),
  tokensPerDay: Type.Optional(Limit),
  usdPerHour: Type.Optional(Limit),
  usdPerDay: Type.Optional(Limit)
}, { additionalProperties: false, description })
const Totals = Type.Object({ tokens: Type.Number(), costUsd: Type.Number() })
const WorldLlm = Type.Object({
  worldId: Type.String(),
  paused: Type.Boolean({ description: 'LLM use of this world is paused' }),
  deploymentPaused: Type.Boolean({ description: 'LLM use of the whole deployment is paused' }),
  budget: Type.Object({ tokensPerHour: Limit, tokensPerDay: Limit, usdPerHour: Limit, usdPerDay: Limit }, { description: 'the budget in force: the defaults (LLM_BUDGET_*) with the world\'s override over them' }),
  override: limits('the world\'s own limits, key by key'),
  spent: Type.Object({ hour: Totals, day: Totals }, { description: 'this UTC hour and this UTC day' }),
  budgetExceeded: Type.Boolean(),
  exceeded: Type.Union([Type.String(), Type.Null()], { description: 'the limit reached, if any' })
})
const Deployment = Type.Object({
  paused: Type.Boolean({ description: 'LLM use of the whole deployment is paused' }),
  defaults: limits('the default budget of every world (LLM_BUDGET_*)'),
  pool: Type.Object({
    limit: Type.Integer({ description: 'LLM_MAX_CONCURRENCY of this instance' }),
    inFlight: Type.Integer(),
    queued: Type.Object({ conversation: Type.Integer(), background: Type.Integer() }),
    queuedWorlds: Type.Integer()
  }, { description: 'this instance\'s pool' })
})
const Scope = Type.Object({ worldId: Type.Optional(WorldId) }, { additionalProperties: false, description: 'a world, or nothing for the whole deployment' })
const PauseResult = Type.Object({ worldId: Type.Union([Type.String(), Type.Null()]), paused: Type.Boolean() })

const adminLlm: FastifyPluginAsyncTypebox = async (fastify) => {
  const tags = ['admin']
  const security = [{ bearer: [] }]
  const requireAdmin = (request: FastifyRequest): void => {
    if (fastify.config.ADMIN_API_KEY === undefined) throw new AdminDisabledError()
    if (request.caller.kind === 'anonymous') throw new UnauthorizedError('LLM controls need the admin key (Authorization: Bearer <ADMIN_API_KEY>)')
    if (request.caller.kind !== 'admin') throw new ForbiddenError('LLM controls are for the admin only')
  }
  const requireWorld = async (worldId: string): Promise<void> => {
    if (await fastify.store.collection('worldStatus').findOne({ worldId }) === null) throw new NotFoundError(`no world ${worldId}`)
  }
  const { config } = fastify
  const defaults = (): Budget => {
    const out: Budget = {}
    const values = { tokensPerHour: config.LLM_BUDGET_TOKENS_PER_HOUR, tokensPerDay: config.LLM_BUDGET_TOKENS_PER_DAY, usdPerHour: config.LLM_BUDGET_USD_PER_HOUR, usdPerDay: config.LLM_BUDGET_USD_PER_DAY }
    for (const key of BUDGET_KEYS) if (values[key] !== undefined) out[key] = values[key]
    return out
  }

  fastify.get('/', {
    schema: { tags, description: 'Whether LLM use of the deployment is paused, the default budget, and this instance\'s pool.', security, response: { 200: Deployment, ...errors } }
  }, async (request) => {
    requireAdmin(request)
    fastify.llmControls.invalidate()
    return { paused: await fastify.llmControls.deploymentPaused(), defaults: defaults(), pool: fastify.llmPool.stats() }
  })

  for (const verb of ['pause', 'resume'] as const) {
    fastify.post(`/${verb}`, {
      schema: {
        tags,
        description: verb === 'pause'
          ? 'Pause all LLM use of a world (body {worldId}) or of the whole deployment (empty body): calls in flight stop, conversations end with a goodbye, remembering is skipped. Holds across restarts.'
          : 'Resume LLM use of a world (body {worldId}) or of the whole deployment (empty body). A world paused on its own stays paused when the deployment resumes.',
        security,
        // No body (or {}) pauses the whole deployment.
        [BODY_OPTIONAL]: true,
        body: Type.Union([Scope, Type.Null()]),
        response: { 200: PauseResult, ...errors }
      }
    }, async (request) => {
      requireAdmin(request)
      const worldId = request.body?.worldId
      if (worldId !== undefined) await requireWorld(worldId)
      await fastify.llmControls.setPaused(worldId, verb === 'pause')
      request.log.info({ worldId: worldId ?? null, paused: verb === 'pause' }, `LLM use ${verb === 'pause' ? 'paused' : 'resumed'}`)
      return { worldId: worldId ?? null, paused: verb === 'pause' }
    })
  }

  fastify.get('/worlds/:worldId', {
    schema: { tags, description: 'A world\'s LLM state: paused, the budget in force, what it spent this hour and day, and whether it is over budget.', security, params: Type.Object({ worldId: WorldId }), response: { 200: WorldLlm, ...errors } }
  }, async (request) => {
    requireAdmin(request)
    await requireWorld(request.params.worldId)
    return await fastify.llmControls.state(request.params.worldId)
  })

  fastify.put('/worlds/:worldId/budget', {
    schema: {
      tags,
      description: 'Replace a world\'s budget override: each limit given (a number, or null for no limit) overrides the default; limits left out follow the defaults (LLM_BUDGET_*). {} drops the override.',
      security,
      params: Type.Object({ worldId: WorldId }),
      body: limits('the world\'s limits'),
      response: { 200: WorldLlm, ...errors }
    }
  }, async (request) => {
    requireAdmin(request)
    const { worldId } = request.params
    await requireWorld(worldId)
    await fastify.llmControls.setBudget(worldId, request.body as Budget)
    return await fastify.llmControls.state(worldId)
  })
}

export default adminLlm
