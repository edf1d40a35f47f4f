// Two server processes on one MongoDB-wire server (and Redis): a subscription on A sees inputs made through B.
import { test } from 'tap'
import { storeTargets } from '../../helpers/stores.ts'
import { startServer } from '../../helpers/server.ts'
import { hasRedisServer, startRedis } from '../../helpers/redis.ts'
import { client, nextValue, socket } from '../../helpers/api.ts'
import type { ResultOf } from '../../../src/client/index.ts'

const mongo = storeTargets().find((s) => s.name === 'mongodb')
const skip = mongo === undefined
  ? 'MONGODB_URL is not set (CI sets it to the MongoDB-wire test server)'
  : !hasRedisServer() && process.env.CI === undefined ? 'redis-server is not installed' : false

test('a subscription on instance A sees inputs sent through instance B', { skip, timeout: 120_000 }, async (t) => {
  const { config, store } = await mongo!.fresh(t)
  await store.close()
  const redisUrl = await startRedis(t)
  const env = { ...config, REDIS_URL: redisUrl, LOG_LEVEL: 'info' }
  const a = await startServer(t, { ...env, DATA_DIR: `${config.DATA_DIR}/a` })
  const b = await startServer(t, { ...env, DATA_DIR: `${config.DATA_DIR}/b` })
  t.teardown(async () => { await a.stop(); await b.stop() })

  const viaA = client(a.url)
  const viaB = client(b.url)
  const status = await nextValue<{ worldId: string } | null>((on) => {
    const i = setInterval(() => { viaB.query('world:defaultWorldStatus', {}).then(on, () => {}) }, 200)
    return () => { clearInterval(i) }
  }, (s) => s !== null)
  const worldId = status!.worldId
  const onA = await socket(t, viaA)

  viaB.token = (await viaB.mutation('auth:newPlayerToken', {})).token
  const joined = await viaB.mutation('world:joinWorld', { worldId, name: 'Cross' })
  const result = await nextValue<unknown>((on) => onA.subscribe('main:inputStatus', { inputId: joined }, on), (v) => v !== null, 60_000)
  t.match(result, { kind: 'ok', value: /^p:\d+$/ }, 'A saw the input B accepted, answered by whichever instance runs the world')
  const playerId = (result as { value: string }).value
  const state = await nextValue<ResultOf<'world:worldState'>>((on) => onA.subscribe('world:worldState', { worldId }, on),
    (s) => (s.world.players as Array<{ id: string }>).some((p) => p.id === playerId))
  t.ok(state, 'the new player shows up in A\'s live world state')
  const ready = await (await fetch(`${a.url}/ready`)).json()
  t.match(ready, { store: { kind: 'mongodb' }, redis: 'ready', changeFeed: { live: true } })
})
