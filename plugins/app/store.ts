// The store resource: opened at start from the config, closed when the app closes.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { openStore } from '../../src/store/index.ts'
import type { Store } from '../../src/store/types.ts'

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

async function storePlugin (fastify: FastifyInstance): Promise<void> {
  const log = fastify.log.child({ plugin: 'store' })
  const store = await openStore(fastify.config, { log })
  log.info({ store: store.describe() }, 'store opened')
  fastify.decorate('store', store)
  fastify.addHook('onClose', async () => {
    await store.close()
  })
}

export default fp(storePlugin, { name: 'store', fastify: '5.x' })
