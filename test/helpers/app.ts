// Builds the app for a test with a fresh store, and closes it in teardown.
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import type { StoreTarget, Teardownable } from './stores.ts'

// Autoload must load our .ts plugins when the tests run them through tsx.
process.env.FASTIFY_AUTOLOAD_TYPESCRIPT = '1'

export async function buildApp (t: Teardownable, target: StoreTarget, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const { store, config: storeConfig } = await target.fresh(t)
  // The target's own store instance only prepared the database; the app opens its own.
  await store.close()
  const config = loadConfig({ LOG_LEVEL: 'silent', ...storeConfig, ...env })
  const fastify = Fastify({ ...serverOptions, logger: { level: config.LOG_LEVEL } })
  // fp exposes the app's decorators (store, changeFeed, ...) to the test.
  await fastify.register(fp(app), { config })
  await fastify.ready()
  t.teardown(async () => { await fastify.close() })
  return fastify
}
