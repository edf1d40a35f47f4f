// World management over the admin API on both stores: create -> run -> archive -> delete, and bad files write nothing.
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { storeTargets } from '../helpers/stores.ts'
import { buildApp } from '../helpers/app.ts'
import { ADMIN_KEY } from '../helpers/api.ts'
import { readWorld, waitFor } from '../helpers/engine.ts'
import { collectionNames } from '../../src/store/collections.ts'
import type { Store } from '../../src/store/types.ts'
import type { EngineDoc } from '../../src/engine/types.ts'

const example = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8'))
const admin = { authorization: `Bearer ${ADMIN_KEY}` }

async function counts (store: Store): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  // The embedding cache is keyed by the text embedded and shared by every world: a world's delete leaves it.
  for (const name of collectionNames) if (name !== 'embeddingsCache') out[name] = await store.collection(name).count()
  return out
}

/** Every document that names the world or its engine, per collection (memories and their embeddings by worldId too). */
async function owned (store: Store, worldId: string, engineId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const name of collectionNames) {
    const c = store.collection(name)
    out[name] = await c.count({ worldId }) + await c.count({ _id: worldId }) + await c.count({ _id: engineId }) + await c.count({ engineId })
  }
  return out
}

for (const target of storeTargets()) {
  test(`create -> run -> archive -> delete (${target.name})`, { timeout: 120_000 }, async (t) => {
    const app = await buildApp(t, target, { ADMIN_API_KEY: ADMIN_KEY, ENGINE_DEFAULT_WORLD: 'false', LOG_LEVEL: 'error' })
    const store = app.store
    const cast = example('cast.json') as Array<Record<string, unknown>>
    const map = example('tiny-map.json')

    t.equal((await app.inject({ method: 'GET', url: '/api/admin/worlds' })).statusCode, 401, 'no key: 401')

    // A bad cast or map: a 400 naming the field, and not one document written.
    const before = await counts(store)
    const badCast = await app.inject({ method: 'POST', url: '/api/admin/worlds', headers: admin, payload: { name: 'Bad', map, cast: [...cast, { ...cast[0], name: 'Zed', character: 'f9' }] } })
    t.equal(badCast.statusCode, 400)
    t.match(badCast.json(), { code: 'TOWNHALL_ERR_BAD_WORLD_FILE', message: /^cast\[3\]\.character: expected one of f1\.\.f8, got "f9"/ })
    const badMap = await app.inject({ method: 'POST', url: '/api/admin/worlds', headers: admin, payload: { name: 'Bad', map: { rows: ['TTT', 'T.'] }, cast } })
    t.equal(badMap.statusCode, 400)
    t.match(badMap.json(), { message: /^map\.rows: row 1 has 2 tiles/ })
    const tooMany = await app.inject({ method: 'POST', url: '/api/admin/worlds', headers: admin, payload: { map, cast, agents: 4 } })
    t.match(tooMany.json(), { message: /^agents: expected an integer from 0 to 3, got 4/ })
    t.same(await counts(store), before, 'nothing was written')

    // Create: the running instance picks it up without a restart.
    const created = await app.inject({ method: 'POST', url: '/api/admin/worlds', headers: admin, payload: { name: 'Saltmarsh', map, cast, agents: 2, seed: 7 } })
    t.equal(created.statusCode, 201, created.body)
    const world = created.json() as { worldId: string, engineId: string, name: string, status: string }
    t.match(world, { name: 'Saltmarsh', status: 'running', isDefault: false })
    const running = await waitFor('the new world steps with its two agents', async () => {
      const doc = await readWorld(store, world.worldId)
      return doc.step.number > 2 && doc.agents.length === 2 ? doc : null
    }, 30_000)
    t.equal((await store.collection('maps').findOne({ worldId: world.worldId }))!.width, 12, 'the world has its own map')
    const names = (await store.collection('playerDescriptions').find({ worldId: world.worldId })).map((d) => d.name).sort()
    t.same(names, ['Bram Osei', 'Wren Calloway'], 'the first two of the cast are its agents')

    const list = await app.inject({ method: 'GET', url: '/api/admin/worlds', headers: admin })
    t.match(list.json(), [{ worldId: world.worldId, name: 'Saltmarsh', status: 'running' }])
    const pub = await app.inject({ method: 'POST', url: '/api/query', payload: { path: 'world:listWorlds', args: {} } })
    t.match(pub.json(), { status: 'success', value: [{ worldId: world.worldId, name: 'Saltmarsh', status: 'running' }] }, 'the public list, for the viewer')

    // Archive: stopped, data kept, read-only.
    const { token } = (await app.inject({ method: 'POST', url: '/api/mutation', payload: { path: 'auth:newPlayerToken', args: {} } })).json().value as { token: string }
    t.equal((await app.inject({ method: 'GET', url: '/api/admin/worlds', headers: { authorization: `Bearer ${token}` } })).statusCode, 403, 'a player token: 403')
    const joinBefore = await app.inject({ method: 'POST', url: `/api/worlds/${world.worldId}/join`, headers: { authorization: `Bearer ${token}` }, payload: { name: 'Me' } })
    t.equal(joinBefore.statusCode, 200, 'a running world takes joins')
    const archived = await app.inject({ method: 'POST', url: `/api/admin/worlds/${world.worldId}/archive`, headers: admin })
    t.equal(archived.statusCode, 200)
    t.match(archived.json(), { status: 'archived' })
    t.equal((await app.inject({ method: 'POST', url: `/api/admin/worlds/${world.worldId}/archive`, headers: admin })).statusCode, 200, 'archive is idempotent')
    const stopped = await store.collection<EngineDoc>('engines').findOne({ _id: world.engineId })
    t.equal(stopped!.running, false, 'the engine is stopped')
    const stepAtArchive = (await readWorld(store, world.worldId)).step.number
    const join = await app.inject({ method: 'POST', url: `/api/worlds/${world.worldId}/join`, headers: { authorization: `Bearer ${token}` }, payload: { name: 'Late' } })
    t.equal(join.statusCode, 409)
    t.match(join.json(), { code: 'TOWNHALL_ERR_WORLD_READ_ONLY', message: /is archived: it is read-only/ })
    const resume = await app.inject({ method: 'POST', url: `/api/admin/worlds/${world.worldId}/resume`, headers: admin })
    t.equal(resume.statusCode, 409, 'an archived world is not resumed')
    const state = await app.inject({ method: 'GET', url: `/api/worlds/${world.worldId}/state` })
    t.equal(state.statusCode, 200, 'its data can still be read')
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const later = (await readWorld(store, world.worldId)).step.number
    t.ok(later <= stepAtArchive + 1, `no steps after the archive (${stepAtArchive} -> ${later})`)

    // Delete: everything it owns, and its memories (but not another world's memories of a player with the same id).
    const playerIds = running.players.map((p) => p.id)
    const remember = async (worldId: string): Promise<void> => {
      const embedding = await store.collection('memoryEmbeddings').insertOne({ worldId, playerId: playerIds[0]!, embedding: [0.1, 0.2] })
      await store.collection('memories').insertOne({ worldId, playerId: playerIds[0]!, description: 'saw a ship', importance: 3, embeddingId: embedding._id, lastAccess: 1, data: { type: 'relationship', playerId: playerIds[1]! } })
    }
    await remember(world.worldId)
    await remember('w:another')
    await store.collection('llmUsage').insertOne({ worldId: world.worldId, hour: 1, calls: 1 })
    t.ok(Object.values(await owned(store, world.worldId, world.engineId)).reduce((a, b) => a + b, 0) > 10, 'the world owns documents before the delete')
    const removed = await app.inject({ method: 'DELETE', url: `/api/admin/worlds/${world.worldId}`, headers: admin })
    t.equal(removed.statusCode, 200, removed.body)
    const report = removed.json() as { removed: Record<string, number> }
    t.equal(report.removed.memories, 1)
    t.equal(report.removed.memoryEmbeddings, 1)
    // The inserted hour, and any the archived world's last calls stored after the archive.
    t.ok(report.removed.llmUsage >= 1, `removed ${report.removed.llmUsage} usage documents`)
    t.notOk('sharedPlayers' in report, 'memories are deleted by world, whatever ids other worlds use')
    t.same([await store.collection('memories').count({ playerId: playerIds[0]! }), await store.collection('memoryEmbeddings').count({ playerId: playerIds[0]! })], [1, 1],
      "another world's memories of the same player id stay")
    for (const name of ['memories', 'memoryEmbeddings'] as const) await store.collection(name).deleteMany({ worldId: 'w:another' })
    const left = await owned(store, world.worldId, world.engineId)
    t.same(Object.entries(left).filter(([, n]) => n > 0), [], 'nothing of the world is left')
    t.same((await app.inject({ method: 'GET', url: '/api/admin/worlds', headers: admin })).json(), [])
    t.equal((await app.inject({ method: 'DELETE', url: `/api/admin/worlds/${world.worldId}`, headers: admin })).statusCode, 404, 'a deleted world is gone')
    t.equal((await app.inject({ method: 'POST', url: '/api/admin/worlds/nope/archive', headers: admin })).statusCode, 404)

    // A running world deleted at once (no archive first): its runner is fenced off and nothing comes back.
    const busy = (await app.inject({ method: 'POST', url: '/api/admin/worlds', headers: admin, payload: { name: 'Busy', map, cast } })).json() as { worldId: string, engineId: string }
    await waitFor('the busy world steps', async () => (await readWorld(store, busy.worldId)).step.number > 3, 30_000)
    t.equal((await app.inject({ method: 'DELETE', url: `/api/admin/worlds/${busy.worldId}`, headers: admin })).statusCode, 200)
    await new Promise((resolve) => setTimeout(resolve, 3000))
    t.same(Object.entries(await owned(store, busy.worldId, busy.engineId)).filter(([, n]) => n > 0), [], 'nothing of the running world is left, 3 s later')
    t.same(await counts(store), before, 'the store is as empty as at the start')
  })
}
