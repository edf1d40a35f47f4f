// The engine resource: supervises the runners of this instance's worlds. Stopped before the store closes.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { EngineSupervisor } from '../../src/engine/supervisor.ts'
import type { StepReport } from '../../src/engine/runner.ts'
import type { AgentBrain } from '../../src/engine/operations.ts'
import { MemoryService } from '../../src/agents/memory.ts'
import { llmBrain } from '../../src/agents/brain.ts'
import { storeEmbeddingCache } from '../../src/agents/embeddingStore.ts'
import { layeredEmbeddingCache } from '../../src/llm/embeddingCache.ts'

declare module 'fastify' {
  interface FastifyInstance {
    engine: EngineSupervisor
    memories: MemoryService
    /** Every committed step of this instance's runners, for metrics. */
    engineSteps: { on: (listener: (report: StepReport) => void) => void }
  }
}

/** Embeddings this instance keeps at hand in front of the store's cache: about 6 MB at 1,536 dimensions. */
const LOCAL_EMBEDDINGS = 1000

async function enginePlugin (fastify: FastifyInstance): Promise<void> {
  const { config, store, llm } = fastify
  const log = fastify.log.child({ plugin: 'engine' })
  const cache = layeredEmbeddingCache(storeEmbeddingCache(store), LOCAL_EMBEDDINGS)
  const memories = new MemoryService({ store, llm, cache, index: fastify.vectorIndex, now: Date.now, log })
  const brain = llmBrain({ store, llm, memories, now: Date.now })
  // While the provider check fails, agents wait (their operations time out) instead of hammering a broken provider.
  const guarded: AgentBrain = {
    name: brain.name,
    async generateMessage (args) {
      const health = fastify.llmHealth()
      if (!health.ok) throw new Error(`LLM provider unavailable: ${health.problem ?? 'check failed'}`)
      return await brain.generateMessage(args)
    },
    async rememberConversation (args) {
      const health = fastify.llmHealth()
      if (!health.ok) throw new Error(`LLM provider unavailable: ${health.problem ?? 'check failed'}`)
      await brain.rememberConversation(args)
    }
  }
  const stepListeners: Array<(report: StepReport) => void> = []
  const supervisor = new EngineSupervisor({
    brain: guarded,
    // Over budget or paused, agents wander and do activities instead of starting conversations.
    mayTalk: async (worldId) => (await fastify.llmControls.hold(worldId)) === null,
    store: fastify.store,
    feed: fastify.changeFeed,
    log,
    createDefaultWorld: config.ENGINE_DEFAULT_WORLD,
    maxWorlds: config.ENGINE_MAX_WORLDS,
    checkEveryMs: config.ENGINE_CHECK_MS,
    runner: {
      maxInputsPerStep: config.ENGINE_MAX_INPUTS_PER_STEP,
      leaseMs: config.ENGINE_LEASE_MS,
      snapshots: { everySteps: config.SNAPSHOT_EVERY_STEPS, keep: config.SNAPSHOT_KEEP }
    },
    onStep: (report) => {
      for (const listener of stepListeners) {
        // A failing listener must never fail a committed step.
        try { listener(report) } catch (err) { log.warn({ err, worldId: report.worldId }, 'step listener threw') }
      }
    }
  })
  fastify.decorate('engine', supervisor)
  fastify.decorate('memories', memories)
  fastify.decorate('engineSteps', { on: (listener: (report: StepReport) => void) => { stepListeners.push(listener) } })
  fastify.addHook('onReady', async () => {
    if (config.ENGINE_ENABLED) await supervisor.start()
  })
  fastify.addHook('preClose', async () => {
    await supervisor.stop()
  })
}

export default fp(enginePlugin, { name: 'engine', dependencies: ['store', 'change-feed', 'llm', 'vector-index'], fastify: '5.x' })
