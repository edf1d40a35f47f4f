// The engine resource: supervises the runners of this instance's worlds. Stopped before the store closes.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { EngineSupervisor } from '../../src/engine/supervisor.ts'

declare module 'fastify' {
  interface FastifyInstance {
    engine: EngineSupervisor
  }
}

async function enginePlugin (fastify: FastifyInstance): Promise<void> {
  const { config } = fastify
  const supervisor = new EngineSupervisor({
    store: fastify.store,
    log: fastify.log.child({ plugin: 'engine' }),
    createDefaultWorld: config.ENGINE_DEFAULT_WORLD,
    runner: { maxInputsPerStep: config.ENGINE_MAX_INPUTS_PER_STEP }
  })
  fastify.decorate('engine', supervisor)
  fastify.addHook('onReady', async () => {
    if (config.ENGINE_ENABLED) await supervisor.start()
  })
  fastify.addHook('preClose', async () => {
    await supervisor.stop()
  })
}

export default fp(enginePlugin, { name: 'engine', dependencies: ['store'], fastify: '5.x' })
