// world:usage — a world's LLM usage and estimated cost over the last 24 hours, per agent and per hour.
import { Type } from 'typebox'
import { defineFunction } from '../registry.ts'
import { NotFoundError } from '../errors.ts'
import { usageReport } from '../../llm/usage.ts'
import { WorldId } from './schemas.ts'

const Totals = {
  calls: Type.Number(),
  errors: Type.Number(),
  promptTokens: Type.Number(),
  completionTokens: Type.Number(),
  tokens: Type.Number(),
  costUsd: Type.Number({ description: 'estimated from LLM_PRICES at the time of each call' })
}

export const WorldUsage = Type.Object({
  worldId: Type.String(),
  since: Type.Number({ description: 'start of the first hour counted (ms)' }),
  until: Type.Number({ description: 'end of the current hour (ms)' }),
  total: Type.Object(Totals),
  agents: Type.Array(Type.Object({ agentId: Type.String(), playerId: Type.String(), name: Type.Union([Type.String(), Type.Null()]), ...Totals })),
  hours: Type.Array(Type.Object({ hour: Type.Number({ description: 'start of the hour (ms, UTC)' }), ...Totals })),
  models: Type.Array(Type.Object({ provider: Type.String(), model: Type.String(), ...Totals }))
})

export const usageFunctions = [
  defineFunction({
    path: 'world:usage',
    kind: 'query',
    access: 'public',
    description: 'LLM calls, tokens and estimated cost (USD) of a world over the last 24 hours: in total, per agent, per hour and per model.',
    args: Type.Object({ worldId: WorldId }),
    returns: WorldUsage,
    tables: ['llmUsage'],
    affectedBy: (e, args) => e.doc === undefined || e.doc.worldId === args.worldId,
    handler: async (ctx, { worldId }) => {
      if (await ctx.store.collection('worldStatus').findOne({ worldId }) === null) throw new NotFoundError(`no world ${worldId}`)
      const report = await usageReport(ctx.store, worldId, ctx.now())
      const playerIds = report.agents.map((a) => a.playerId).filter((id) => id !== '')
      const names = new Map(playerIds.length === 0
        ? []
        : (await ctx.store.collection('playerDescriptions').find({ worldId, playerId: { $in: playerIds } })).map((d) => [d.playerId as string, d.name as string]))
      return { ...report, agents: report.agents.map((a) => ({ ...a, name: names.get(a.playerId) ?? null })) }
    }
  })
]
