// Presence fans out over Redis pub/sub: instance B sees who watches a world through instance A.
import { test } from 'tap'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app from '../../../src/app.ts'
import { loadConfig } from '../../../src/config.ts'
import { storeTargets } from '../../helpers/stores.ts'
import { hasRedisServer, startRedis } from '../../helpers/redis.ts'
import { client, nextValue, socket } from '../../helpers/api.ts'
import '../../helpers/app.ts'

const embedded = storeTargets()[0]!
const skip = !hasRedisServer() && process.env.CI === undefined ? 'redis-server is not installed' : false

test('viewers on one instance are counted on another through Redis', { skip }, async (t) => {
  const redisUrl = await startRedis(t)
  const { store, config: storeConfig } = await embedded.fresh(t)
  await store.close()
  const boot = async (engine: boolean): Promise<string> => {
    const f = Fastify({ logger: false })
    await f.register(fp(app), { config: loadConfig({ ...storeConfig, LOG_LEVEL: 'silent', REDIS_URL: redisUrl, ENGINE_ENABLED: String(engine) }) })
    await f.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(async () => { await f.close() })
    const address = f.server.address()
    return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  }
  // Both instances share one embedded store file; only A runs the engine.
  const a = await boot(true)
  const b = await boot(false)
  const status = await nextValue<{ worldId: string } | null>((on) => {
    const i = setInterval(() => { client(a).query('world:defaultWorldStatus', {}).then(on, () => {}) }, 100)
    return () => { clearInterval(i) }
  }, (s) => s !== null)
  const worldId = status!.worldId
  const onB = await socket(t, client(b))
  const counts: number[] = []
  onB.subscribe('world:presence', { worldId }, (v) => { counts.push(v.viewers) })
  const viewerOnA = await client(a).connect()
  viewerOnA.subscribe('world:worldState', { worldId }, () => {})
  await nextValue<number>((on) => { const i = setInterval(() => { on(counts.at(-1) ?? -1) }, 20); return () => { clearInterval(i) } }, (n) => n === 1)
  viewerOnA.close()
  await nextValue<number>((on) => { const i = setInterval(() => { on(counts.at(-1) ?? -1) }, 20); return () => { clearInterval(i) } }, (n) => n === 0)
  t.same(counts, [0, 1, 0], 'B saw A\'s viewer arrive and leave')
})
