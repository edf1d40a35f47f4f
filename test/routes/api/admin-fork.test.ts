// POST /api/admin/worlds/:worldId/fork: 201 with the fork's list item; an unknown world 404, a step outside the
// kept range or a bad body 400 (nothing written), no key 401, a player's token 403.
import { test } from 'tap'
import { storeTargets } from '../../helpers/stores.ts'
import { buildApp } from '../../helpers/app.ts'
import { ADMIN_KEY } from '../../helpers/api.ts'
import { createWorldRecords } from '../../../src/engine/worlds.ts'
import { takeSnapshot } from '../../../src/engine/snapshots.ts'
import { replayWorld } from '../../../src/engine/replay.ts'
import { readWorld, waitFor } from '../../helpers/engine.ts'

const admin = { authorization: `Bearer ${ADMIN_KEY}` }

for (const target of storeTargets()) {
  test(`the admin API forks a world at a kept step (${target.name})`, { timeout: 60_000 }, async (t) => {
    const app = await buildApp(t, target, { ADMIN_API_KEY: ADMIN_KEY, ENGINE_ENABLED: 'false', ENGINE_DEFAULT_WORLD: 'false', LOG_LEVEL: 'error' })
    const now = Date.now()
    const world = await createWorldRecords(app.store, { now, agents: 2, seed: 5, name: 'Saltmarsh' })
    const fork = (worldId: string, payload: unknown, headers: Record<string, string> = admin) =>
      app.inject({ method: 'POST', url: `/api/admin/worlds/${worldId}/fork`, headers, payload: payload as Record<string, unknown> })

    t.equal((await fork(world.worldId, { atStep: 0 }, {})).statusCode, 401, 'no key: 401')
    const { token } = (await app.inject({ method: 'POST', url: '/api/mutation', payload: { path: 'auth:newPlayerToken', args: {} } })).json().value as { token: string }
    t.equal((await fork(world.worldId, { atStep: 0 }, { authorization: `Bearer ${token}` })).statusCode, 403, 'a player token: 403')

    const statuses = await app.store.collection('worldStatus').count()
    const unknown = await fork('no-such-world', { atStep: 0 })
    t.equal(unknown.statusCode, 404)
    t.equal(unknown.json().message, 'no world no-such-world')
    const none = await fork(world.worldId, { atStep: 0 })
    t.equal(none.statusCode, 400, 'a world without snapshots: 400')
    t.match(none.json().message, /has no snapshots to fork from/)
    for (const body of [{}, { atStep: -1 }, { atStep: 1.5 }, { atStep: '0' }, { atStep: 0, name: '' }, { atStep: 0, extra: true }]) {
      t.equal((await fork(world.worldId, body)).statusCode, 400, `bad body ${JSON.stringify(body)}: 400`)
    }
    await takeSnapshot(app.store, world.worldId, 'demand', { keep: 5 }, now)
    const outside = await fork(world.worldId, { atStep: 3 })
    t.equal(outside.statusCode, 400, 'a step outside the kept range: 400')
    t.equal(outside.json().code, 'TOWNHALL_ERR_FORK_STEP')
    t.equal(outside.json().message, `step 3 is outside what world ${world.worldId} keeps: the kept range is steps 0 to 0`)
    t.equal(await app.store.collection('worldStatus').count(), statuses, 'nothing written')

    const created = await fork(world.worldId, { atStep: 0 })
    t.equal(created.statusCode, 201, created.body)
    const item = created.json() as { worldId: string, name: string, status: string, forkedFrom: unknown }
    t.match(item, { name: 'Saltmarsh (fork at step 0)', status: 'running', forkedFrom: { worldId: world.worldId, step: 0 } })
    const named = await fork(world.worldId, { atStep: 0, name: 'What if' })
    t.equal(named.json().name, 'What if')
    const list = (await app.inject({ method: 'GET', url: '/api/admin/worlds', headers: admin })).json() as Array<{ worldId: string, forkedFrom?: unknown }>
    t.same(list.filter((w) => w.forkedFrom !== undefined).map((w) => w.worldId).sort(), [item.worldId, named.json().worldId].sort(), 'the list shows both forks')
    const removed = await app.inject({ method: 'DELETE', url: `/api/admin/worlds/${item.worldId}`, headers: admin })
    t.equal(removed.statusCode, 200, 'a fork deletes like any world')
  })
}

for (const target of storeTargets()) {
  test(`a fork made over the API is taken up by an instance and runs from its step (${target.name})`, { timeout: 90_000 }, async (t) => {
    const app = await buildApp(t, target, { ADMIN_API_KEY: ADMIN_KEY, ENGINE_DEFAULT_WORLD: 'false', ENGINE_CHECK_MS: '200', LOG_LEVEL: 'error' })
    const world = await createWorldRecords(app.store, { now: Date.now(), agents: 2, seed: 5 })
    await waitFor('the original\'s agents created', async () => (await readWorld(app.store, world.worldId)).agents.length === 2)
    const at = await takeSnapshot(app.store, world.worldId, 'demand', { keep: 5 }, Date.now())
    const created = await app.inject({ method: 'POST', url: `/api/admin/worlds/${world.worldId}/fork`, headers: admin, payload: { atStep: at.step } })
    t.equal(created.statusCode, 201, created.body)
    const forkId = (created.json() as { worldId: string }).worldId
    const stepped = await waitFor('the fork stepping on its own', async () => {
      const w = await readWorld(app.store, forkId)
      return w.step.number >= at.step + 3 ? w : null
    }, 30_000)
    t.equal(stepped.agents.length, 2, 'with the original\'s agents')
    t.equal((await replayWorld(app.store, forkId, { verify: true })).divergence, undefined, 'and replays identically from its first snapshot')
  })
}
