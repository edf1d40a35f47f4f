// The default world's map is written in AI Town's shape over townhall's tileset; an older default map is
// redrawn at start (same walkable layout), and an imported AI Town world keeps its own map and tileset.
import { test } from 'tap'
import { join } from 'node:path'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { ensureDefaultWorld } from '../../src/engine/worlds.ts'
import { defaultMap, TILESET_URL } from '../../src/game/data/map.ts'
import { buildStaticGrid } from '../../src/game/grid.ts'
import { writeConvexExport } from '../fixtures/convexExport.ts'
import { importConvexExport } from '../../src/transfer/importConvex.ts'
import type { WorldMap } from '../../src/game/types.ts'

const target = storeTargets()[0]!
const blocked = (map: WorldMap): number[] => [...buildStaticGrid(map).blocked]

test('the default world gets the tileset map; a legend-era map is redrawn with the same blocking', async (t) => {
  const { store } = await target.fresh(t)
  const status = await ensureDefaultWorld(store, 1_000, { agents: 0 })
  const map = (await store.collection('maps').findOne({ worldId: status.worldId }))!
  t.match(map, { tileSetUrl: TILESET_URL, tileSetDimX: defaultMap.tileSetDimX, tileSetDimY: defaultMap.tileSetDimY, tileDim: 32, width: 64, height: 48 })
  t.same(map.bgTiles, defaultMap.bgTiles)
  t.same(map.animatedSprites, defaultMap.animatedSprites)

  // What an older townhall wrote: legend indices, one layer each, no tileset.
  const legacyObjects = defaultMap.objectTiles.map((layer) => layer.map((col) => col.map((v) => (v === -1 ? -1 : 9))))
  await store.collection('maps').updateOne({ worldId: status.worldId }, {
    $set: { tileSetUrl: '', tileSetDimX: 2048, tileSetDimY: 1536, animatedSprites: [], bgTiles: [defaultMap.bgTiles[0].map((col) => col.map(() => 0))], objectTiles: legacyObjects, legend: [{ index: 0, name: 'grass' }] }
  })
  const before = blocked((await store.collection('maps').findOne({ worldId: status.worldId })) as unknown as WorldMap)
  await ensureDefaultWorld(store, 2_000, { agents: 0 })
  const upgraded = (await store.collection('maps').findOne({ worldId: status.worldId }))!
  t.equal(upgraded.tileSetUrl, TILESET_URL)
  t.notOk('legend' in upgraded, 'the legend is gone')
  t.same(upgraded.objectTiles, defaultMap.objectTiles)
  t.same(blocked(upgraded as unknown as WorldMap), before, 'the walkable layout is unchanged')
  t.equal(upgraded._id, map._id, 'the same map document')

  // An up-to-date map is left as it is.
  await store.collection('maps').updateOne({ worldId: status.worldId }, { $set: { marker: 1 } })
  await ensureDefaultWorld(store, 3_000, { agents: 0 })
  t.equal((await store.collection('maps').findOne({ worldId: status.worldId }))!.marker, 1)
})

test('an imported AI Town world keeps its map, tileset URL and animated sprites, even as the default world', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t)
  const manifest = await writeConvexExport({ out: join(dir, 'snapshot.zip'), seed: 5 })
  const { store } = await target.fresh(t)
  await importConvexExport(join(dir, 'snapshot.zip'), { store, dimension: 1024, embeddingModel: 'offline#1024' })
  const imported = (await store.collection('maps').findOne({ worldId: manifest.worldId }))!
  t.match(imported, { tileSetUrl: '/ai-town/assets/gentle-obj.png', tileSetDimX: 1440, tileSetDimY: 1024, tileDim: 32 })
  t.equal((imported.animatedSprites as unknown[]).length, 3)
  const status = await ensureDefaultWorld(store, Date.now(), { agents: 0 })
  t.equal(status.worldId, manifest.worldId, 'the export\'s default world is ours')
  t.same(await store.collection('maps').findOne({ worldId: manifest.worldId }), imported, 'start-up leaves it untouched')
})
