// The HNSW index on disk against the store: one written before memories were scoped by world (format 1,
// players keyed by player id alone) is stale and rebuilt from the store, never loaded and searched.
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'tap'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { quietLog } from '../helpers/engine.ts'
import { fingerprintOfIds } from '../../src/vector/fingerprint.ts'
import { createHnswIndex, openHnswIndex } from '../../src/vector/hnsw.ts'
import { normalized } from '../../src/vector/math.ts'
import { closeStoreVectorIndex, embeddingsVersion, openStoreVectorIndex } from '../../src/vector/fromStore.ts'
import { createRandom } from '../../src/vector/synthetic.ts'

const dimension = 32

function vectors (n: number, seed: number): Float32Array[] {
  const random = createRandom(seed)
  return Array.from({ length: n }, () => Float32Array.from({ length: dimension }, () => random() * 2 - 1))
}

/** What townhall wrote before worlds scoped memories: exact players keyed (and their files named) by player id. */
async function writeFormat1 (dir: string, items: Array<{ id: string, playerId: string, embedding: Float32Array }>, version: string): Promise<void> {
  await mkdir(join(dir, 'players'), { recursive: true })
  const players: Record<string, { file: string, type: 'exact', count: number }> = {}
  for (const playerId of new Set(items.map((i) => i.playerId))) {
    const mine = items.filter((i) => i.playerId === playerId)
    const file = createHash('sha256').update(playerId).digest('hex').slice(0, 32)
    const data = new Float32Array(mine.length * dimension)
    mine.forEach((item, slot) => { data.set(normalized(item.embedding), slot * dimension) })
    await writeFile(join(dir, 'players', `${file}.f32`), new Uint8Array(data.buffer))
    await writeFile(join(dir, 'players', `${file}.ids.json`), JSON.stringify(mine.map((i) => i.id)))
    players[playerId] = { file, type: 'exact', count: mine.length }
  }
  const manifest = { format: 1, dimension, fingerprint: fingerprintOfIds(items.map((i) => i.id)), version, count: items.length, m: 16, efConstruction: 100, players }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest))
}

test('an index directory in the format before worlds is stale, even when its fingerprint and version match', async (t) => {
  const dir = await tempDir(t)
  const items = vectors(6, 1).map((embedding, i) => ({ id: `m${i}`, playerId: `p:${i % 2}`, embedding }))
  await writeFormat1(dir, items, 'v1')
  const opened = await openHnswIndex({ dir, dimension, expectedVersion: 'v1', expectedFingerprint: fingerprintOfIds(items.map((i) => i.id)) })
  t.same([opened.needsRebuild, opened.reason, opened.index.size()], [true, 'stale', 0], 'not loaded')
  await opened.index.close()

  // The current format round-trips, with the same player id in two worlds kept apart.
  const current = await openHnswIndex({ dir, dimension })
  await current.index.rebuild(items.flatMap((item) => [{ ...item, worldId: 'w:a' }, { ...item, id: `${item.id}b`, worldId: 'w:b' }]))
  current.index.setVersion('v2')
  await current.index.flush()
  await current.index.close()
  t.equal(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')).format, 2)
  const again = await openHnswIndex({ dir, dimension, expectedVersion: 'v2' })
  t.same([again.needsRebuild, again.index.size()], [false, 12])
  t.same((await again.index.search('w:a', 'p:0', items[0]!.embedding, 10)).map((h) => h.id).sort(), ['m0', 'm2', 'm4'])
  t.same((await again.index.search('w:b', 'p:0', items[0]!.embedding, 10)).map((h) => h.id).sort(), ['m0b', 'm2b', 'm4b'])
  await again.index.close()
})

test('the same player id in two worlds is two owners in the HNSW index, as graphs too', async (t) => {
  const index = createHnswIndex({ dimension, exactThreshold: 4 })
  const embeddings = vectors(20, 2)
  await index.upsert(embeddings.map((embedding, i) => ({ id: `m${i}`, worldId: i < 10 ? 'w:a' : 'w:b', playerId: 'p:0', embedding })))
  t.match(index.stats(), { players: 2, graphPlayers: 2 })
  const inA = await index.search('w:a', 'p:0', embeddings[15]!, 20)
  t.equal(inA.length, 10)
  t.ok(inA.every((h) => Number(h.id.slice(1)) < 10), "world A's search returns none of world B's")
  await index.upsert([{ id: 'm0', worldId: 'w:b', playerId: 'p:0', embedding: embeddings[0]! }])
  t.notOk((await index.search('w:a', 'p:0', embeddings[0]!, 20)).some((h) => h.id === 'm0'), 'a memory moved to another world leaves the first')
  await index.close()
})

for (const target of storeTargets()) {
  test(`a format-1 index on disk is rebuilt from the store at open (${target.name})`, async (t) => {
    const { store, config } = await target.fresh(t)
    const dataDir = config.DATA_DIR!
    const embeddings = vectors(4, 3)
    const ids: string[] = []
    for (const [i, embedding] of embeddings.entries()) {
      ids.push((await store.collection('memoryEmbeddings').insertOne({ worldId: 'w:a', playerId: `p:${i % 2}`, embedding: Array.from(embedding) }))._id)
    }
    // The worst case: the old index holds exactly the store's ids under the store's current version.
    await writeFormat1(join(dataDir, 'vector'), ids.map((id, i) => ({ id, playerId: `p:${i % 2}`, embedding: embeddings[i]! })), await embeddingsVersion(store))
    const created = await openStoreVectorIndex({ store, kind: 'hnsw', dimension, dataDir, log: quietLog })
    t.equal(created.kind, 'hnsw')
    t.ok(created.needsRebuild, 'seen as stale')
    t.equal(created.index.size(), 4, 'rebuilt from the store')
    t.same((await created.index.search('w:a', 'p:0', embeddings[0]!, 5)).map((h) => h.id).sort(), [ids[0], ids[2]].sort(), 'found by world and player')
    await closeStoreVectorIndex(store, created)
    t.equal(JSON.parse(await readFile(join(dataDir, 'vector', 'manifest.json'), 'utf8')).format, 2, 'written back in the current format')
    const reopened = await openStoreVectorIndex({ store, kind: 'hnsw', dimension, dataDir, log: quietLog })
    t.same([reopened.needsRebuild, reopened.index.size()], [false, 4], 'and loaded as it is at the next open')
    await closeStoreVectorIndex(store, reopened)
  })
}
