import { test } from 'tap'
import { buildApp } from '../../helpers/app.ts'
import { storeTargets } from '../../helpers/stores.ts'
import { freePort, hasRedisServer, startRedis } from '../../helpers/redis.ts'

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
