import { test } from 'tap'
import { buildApp } from '../../helpers/app.ts'
import { storeTargets } from '../../helpers/stores.ts'
import { freePort, hasRedisServer, startRedis, startStoppableRedis } from '../../helpers/redis.ts'
import { startServer } from '../../helpers/server.ts'

const embedded = storeTargets()[0]!
const available = hasRedisServer()
// CI installs redis-server; a developer machine without it skips rather than fails.
const skip = !available && process.env.CI === undefined ? 'redis-server is not installed' : false

test('without REDIS_URL the app runs without Redis', async (t) => {
  const app = await buildApp(t, embedded)
  t.equal(app.redis, null)
  t.match((await app.inject({ url: '/ready' })).json(), { redis: 'disabled' })
})

test('with REDIS_URL the plugin owns one real connection and closes it with the app', { skip }, async (t) => {
  const url = await startRedis(t)
  const app = await buildApp(t, embedded, { REDIS_URL: url })
  const redis = app.redis!
  t.equal(redis.status, 'ready')
  await redis.set('townhall:test', 'hello')
  t.equal(await redis.get('townhall:test'), 'hello')
  t.match((await app.inject({ url: '/ready' })).json(), { status: 'ready', redis: 'ready' })
  await app.close()
  t.equal(redis.status, 'end', 'the connection is closed when the app closes')
})

test('an unreachable Redis stops the start with a clear error', async (t) => {
  const port = await freePort()
  await t.rejects(buildApp(t, embedded, { REDIS_URL: `redis://:secret@127.0.0.1:${port}` }),
    { code: 'TOWNHALL_ERR_DEPENDENCY_UNAVAILABLE', message: new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`) })
})

test('with Redis gone mid-run the server stops at once and cleanly, and writes nothing but JSON lines', { skip, timeout: 90_000 }, async (t) => {
  const redis = await startStoppableRedis(t)
  const { config, store } = await embedded.fresh(t)
  await store.close()
  const server = await startServer(t, { ...config, REDIS_URL: redis.url, LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '4000' })
  redis.kill()
  // Long enough for the connections to notice and start reconnecting.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const stopped = await server.stop('SIGTERM')
  t.equal(stopped.code, 0, 'a clean exit, not the grace period\'s exit 1')
  t.ok(stopped.ms < 2000, `stopped in ${stopped.ms} ms`)
  t.equal(server.stderr().trim().slice(0, 2000), '', 'nothing on stderr (no "Unhandled error event")')
  const warnings = server.stdout().split('\n').filter((l) => l.includes('redis connection error'))
  t.equal(warnings.length, 1, 'one warning for the outage, not one per reconnect attempt')
  const notJson = server.stdout().split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'))
  t.same(notJson, [], 'stdout is JSON lines only')
})
