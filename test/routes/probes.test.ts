import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { buildApp } from '../helpers/app.ts'

for (const target of storeTargets()) {
  test(`health and readiness on the ${target.name} store`, async (t) => {
    const app = await buildApp(t, target)

    const health = await app.inject({ method: 'GET', url: '/health' })
    t.equal(health.statusCode, 200)
    t.match(health.json(), { status: 'ok', uptimeSeconds: Number })

    const ready = await app.inject({ method: 'GET', url: '/ready' })
    t.equal(ready.statusCode, 200)
    t.match(ready.json(), { status: 'ready', store: { kind: target.name, ok: true }, changeFeed: { live: true }, redis: 'disabled', llm: { mode: 'offline', ok: true, dimension: 1024 }, vectorIndex: { kind: 'hnsw' } })

    const missing = await app.inject({ method: 'GET', url: '/nope' })
    t.equal(missing.statusCode, 404)
    t.match(missing.json(), { statusCode: 404, code: 'TOWNHALL_ERR_NOT_FOUND', message: /GET \/nope/ })
  })

  test(`readiness turns 503 when the change feed is closed (${target.name})`, async (t) => {
    const app = await buildApp(t, target)
    await app.changeFeed.close()
    const ready = await app.inject({ method: 'GET', url: '/ready' })
    t.equal(ready.statusCode, 503)
    t.match(ready.json(), { status: 'not-ready', changeFeed: { live: false } })
  })
}
