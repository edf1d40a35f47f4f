// LLM usage and estimated cost per world, agent and hour, stored in `llmUsage` so it survives restarts.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { UsageLedger } from '../../src/llm/usage.ts'
import type { WorldStatusDoc } from '../../src/engine/types.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Hourly usage of attributed LLM calls (world, agent); `flush()` writes what is pending now. */
    llmLedger: UsageLedger
  }
}

async function llmUsagePlugin (fastify: FastifyInstance): Promise<void> {
  const ledger = new UsageLedger({
    store: fastify.store,
    prices: fastify.config.llmPrices,
    now: Date.now,
    log: fastify.log.child({ plugin: 'llm-usage' }),
    // At most one write per world, agent and model a second, however busy the town (and live queries re-run as rarely).
    flushDelayMs: 1000,
    // A call that ends after its world was deleted (or while it is) is not stored: the delete left nothing behind.
    keep: async (worldIds) => {
      const docs = await fastify.store.collection<WorldStatusDoc>('worldStatus').find({ worldId: { $in: worldIds } })
      return new Set(docs.filter((d) => d.status !== 'deleting').map((d) => d.worldId))
    }
  })
  fastify.llmCalls.on((record) => { ledger.record(record) })
  // Budgets count this instance's calls that are not stored yet.
  fastify.llmControls.countLocal(ledger)
  fastify.decorate('llmLedger', ledger)
  // Runs before the store closes (onClose hooks run in reverse order of registration).
  fastify.addHook('onClose', async () => {
    await ledger.close()
  })
}

export default fp(llmUsagePlugin, { name: 'llm-usage', dependencies: ['store', 'llm'], fastify: '5.x' })
