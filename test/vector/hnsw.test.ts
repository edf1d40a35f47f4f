import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import type { Test } from 'tap'
import { createExactIndex } from '../../src/vector/exact.ts'
import { fingerprintOfIds } from '../../src/vector/fingerprint.ts'
import { createHnswIndex, openHnswIndex } from '../../src/vector/hnsw.ts'
import type { HnswIndexOptions } from '../../src/vector/hnsw.ts'
import { defaultShape, recallAt, SyntheticPlayer } from '../../src/vector/synthetic.ts'
import type { MemoryVector, MemoryVectorIndex } from '../../src/vector/types.ts'
import { VectorDimensionError } from '../../src/vector/types.ts'

const W = 'w:1'

const dimension = 128

/** 5,000 clustered vectors over `players` players, plus a generator per player for queries. */
function world (players: number, total = 5000, seed = 7): { items: MemoryVector[], gens: SyntheticPlayer[] } {
  const shape = defaultShape(dimension)
  const gens = Array.from({ length: players }, (_, p) => new SyntheticPlayer(shape, seed, p))
  const items: MemoryVector[] = []
  for (let i = 0; i < total; i++) {
    const p = i % players
    items.push({ id: `m${i}`, worldId: W, playerId: `p${p}`, embedding: gens[p].memory() })
  }
  return { items, gens }
}

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-vector-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function meanRecall (index: MemoryVectorIndex, exact: MemoryVectorIndex, gens: SyntheticPlayer[], queries: number): Promise<number> {
  let sum = 0
  for (let q = 0; q < queries; q++) {
    const p = q % gens.length
    const query = gens[p].query()
    sum += recallAt(await exact.search(W, `p${p}`, query, 10), await index.search(W, `p${p}`, query, 10))
  }
  return sum / queries
}

for (const [label, players, options] of [
  ['20 players, all graphs', 20, { exactThreshold: 50 }],
  ['2 players, default threshold', 2, {}]
] as Array<[string, number, Partial<HnswIndexOptions>]>) {
  test(`recall@10 against exact is at least 0.95 (${label})`, async (t) => {
    const { items, gens } = world(players)
    const exact = createExactIndex({ dimension })
    const index = createHnswIndex({ dimension, ...options })
    t.teardown(() => index.close())
    await exact.upsert(items)
    await index.upsert(items)
    t.equal(index.size(), 5000)
    t.equal(index.stats().graphPlayers, players)
    const recall = await meanRecall(index, exact, gens, 200)
    t.ok(recall >= 0.95, `recall@10 ${recall.toFixed(3)}`)
  })
}

test('results survive a restart', async (t) => {
  const dir = await tempDir(t)
  const { items, gens } = world(10, 3000)
  const first = await openHnswIndex({ dir, dimension, exactThreshold: 200 })
  t.equal(first.needsRebuild, true)
  t.equal(first.reason, 'missing')
  await first.index.upsert(items)
  await first.index.remove(['m0', 'm11', 'm22'])
  t.same(first.index.stats(), { vectors: 2997, players: 10, exactPlayers: 0, graphPlayers: 10, deletedNodes: 3 })
  const queries = gens.flatMap((g, p) => [0, 1, 2].map(() => ({ playerId: `p${p}`, query: g.query() })))
  const before = await Promise.all(queries.map(q => first.index.search(W, q.playerId, q.query, 10)))
  const fingerprint = first.index.fingerprint()
  await first.index.flush()
  await first.index.close()

  const second = await openHnswIndex({ dir, dimension, exactThreshold: 200, expectedFingerprint: fingerprint })
  t.teardown(() => second.index.close())
  t.equal(second.needsRebuild, false)
  t.equal(second.index.size(), 2997)
  t.equal(second.index.fingerprint(), fingerprint)
  const after = await Promise.all(queries.map(q => second.index.search(W, q.playerId, q.query, 10)))
  t.same(after.map(hits => hits.map(h => h.id)), before.map(hits => hits.map(h => h.id)))
  t.notOk(after.flat().some(h => ['m0', 'm11', 'm22'].includes(h.id)), 'deleted memories stay deleted')
})

test('exact players and later changes persist too', async (t) => {
  const dir = await tempDir(t)
  const { items, gens } = world(4, 400)
  const first = await openHnswIndex({ dir, dimension })
  await first.index.upsert(items)
  await first.index.flush()
  await first.index.remove(['m1'])
  await first.index.upsert([{ id: 'late', worldId: W, playerId: 'p9', embedding: gens[0].memory() }])
  await first.index.flush()
  await first.index.close()
  const second = await openHnswIndex({ dir, dimension, expectedFingerprint: fingerprintOfIds([...items.map(i => i.id).filter(id => id !== 'm1'), 'late']) })
  t.teardown(() => second.index.close())
  t.equal(second.needsRebuild, false)
  t.same(second.index.stats(), { vectors: 400, players: 5, exactPlayers: 5, graphPlayers: 0, deletedNodes: 0 })
  t.same((await second.index.search(W, 'p9', gens[0].query(), 5)).map(h => h.id), ['late'])
})

test('deleted memories are never returned, before and after compaction', async (t) => {
  const { items, gens } = world(1, 1200)
  const index = createHnswIndex({ dimension, exactThreshold: 300 })
  t.teardown(() => index.close())
  await index.upsert(items)
  const deleted = new Set<string>()
  for (let i = 0; i < 1200; i += 2) deleted.add(`m${i}`)
  await index.remove([...deleted].slice(0, 200))
  for (let q = 0; q < 20; q++) {
    const hits = await index.search(W, 'p0', gens[0].query(), 50)
    t.notOk(hits.some(h => deleted.has(h.id) && Number(h.id.slice(1)) < 400))
  }
  t.equal(index.stats().deletedNodes, 200)
  await index.remove([...deleted])
  t.equal(index.size(), 600)
  t.equal(index.stats().deletedNodes, 0, 'the graph was compacted once deletions outnumbered live nodes')
  for (let q = 0; q < 20; q++) {
    const hits = await index.search(W, 'p0', gens[0].query(), 50)
    t.equal(hits.length, 50)
    t.notOk(hits.some(h => deleted.has(h.id)))
  }
  // Asking for more than the player holds returns what is left.
  t.equal((await index.search(W, 'p0', gens[0].query(), 5000)).length, 600)
})

test('search never returns another player\'s memory', async (t) => {
  const { items, gens } = world(5, 2000)
  const index = createHnswIndex({ dimension, exactThreshold: 100 })
  t.teardown(() => index.close())
  await index.upsert(items)
  const owner = new Map(items.map(i => [i.id, i.playerId]))
  for (let q = 0; q < 50; q++) {
    // Query with another player's centre: the closest vectors overall belong to someone else.
    const query = gens[(q + 1) % 5].query()
    const playerId = `p${q % 5}`
    const hits = await index.search(W, playerId, query, 10)
    t.equal(hits.length, 10)
    t.ok(hits.every(h => owner.get(h.id) === playerId))
  }
  t.same(await index.search(W, 'nobody', gens[0].query(), 10), [])
})

test('an upsert that moves a memory to another player leaves the first', async (t) => {
  const { items, gens } = world(2, 600)
  const index = createHnswIndex({ dimension, exactThreshold: 100 })
  t.teardown(() => index.close())
  await index.upsert(items)
  const moved = items[0]
  await index.upsert([{ ...moved, worldId: W, playerId: 'p1' }])
  t.equal(index.size(), 600)
  t.notOk((await index.search(W, 'p0', moved.embedding, 300)).some(h => h.id === moved.id))
  t.equal((await index.search(W, 'p1', moved.embedding, 1))[0].id, moved.id)
  t.ok(gens.length === 2)
})

test('a vector of the wrong dimension is rejected and nothing is written', async (t) => {
  const index = createHnswIndex({ dimension })
  t.teardown(() => index.close())
  const { items } = world(1, 10)
  await t.rejects(index.upsert([...items, { id: 'bad', worldId: W, playerId: 'p0', embedding: new Float32Array(1024) }]), VectorDimensionError)
  t.equal(index.size(), 0)
  await t.rejects(index.search(W, 'p0', new Float32Array(64), 3), VectorDimensionError)
  await t.rejects(index.rebuild([{ id: 'bad', worldId: W, playerId: 'p0', embedding: new Float32Array(3) }]), VectorDimensionError)
})

test('a stale, missing, corrupt or other-dimension index needs a rebuild', async (t) => {
  const dir = await tempDir(t)
  const { items } = world(3, 300)
  const first = await openHnswIndex({ dir, dimension })
  await first.index.upsert(items)
  first.index.setVersion('v1')
  await first.index.flush()
  await first.index.close()

  const stale = await openHnswIndex({ dir, dimension, expectedFingerprint: fingerprintOfIds(items.slice(1).map(i => i.id)) })
  t.same([stale.needsRebuild, stale.reason, stale.index.size()], [true, 'stale', 0])
  const sameCountOtherIds = fingerprintOfIds([...items.slice(1).map(i => i.id), 'other'])
  t.equal((await openHnswIndex({ dir, dimension, expectedFingerprint: sameCountOtherIds })).reason, 'stale')
  t.equal((await openHnswIndex({ dir, dimension, expectedVersion: 'v2' })).reason, 'stale')
  const fresh = await openHnswIndex({ dir, dimension, expectedVersion: 'v1', expectedFingerprint: fingerprintOfIds(items.map(i => i.id).reverse()) })
  t.same([fresh.needsRebuild, fresh.index.size()], [false, 300])
  t.equal((await openHnswIndex({ dir, dimension: 64 })).reason, 'dimension')
  t.equal((await openHnswIndex({ dir: join(dir, 'elsewhere'), dimension })).reason, 'missing')
  await writeFile(join(dir, 'manifest.json'), '{not json')
  t.equal((await openHnswIndex({ dir, dimension })).reason, 'corrupt')
})

test('rebuild replaces the contents, reports progress and persists', async (t) => {
  const dir = await tempDir(t)
  const { items, gens } = world(3, 3000)
  const opened = await openHnswIndex({ dir, dimension, exactThreshold: 500 })
  await opened.index.upsert([{ id: 'old', worldId: W, playerId: 'p0', embedding: gens[0].memory() }])
  await opened.index.flush()
  async function * source (): AsyncIterable<MemoryVector> {
    for (const item of items) yield item
  }
  const phases: string[] = []
  let lastLoad = 0
  await opened.index.rebuild(source(), {
    total: items.length,
    progressEvery: 500,
    onProgress: (p) => {
      if (phases.at(-1) !== p.phase) phases.push(p.phase)
      if (p.phase === 'load') lastLoad = p.done
    }
  })
  t.same(phases, ['load', 'index', 'persist', 'done'])
  t.equal(lastLoad, 3000)
  t.equal(opened.index.size(), 3000)
  t.same(opened.index.stats().graphPlayers, 3)
  t.notOk((await opened.index.search(W, 'p0', gens[0].query(), 3000)).some(h => h.id === 'old'))
  await opened.index.close()
  const reopened = await openHnswIndex({ dir, dimension, expectedFingerprint: fingerprintOfIds(items.map(i => i.id)) })
  t.teardown(() => reopened.index.close())
  t.equal(reopened.needsRebuild, false)
  t.equal(reopened.index.size(), 3000)
})

test('a rebuild in worker threads gives the same graphs as one on the main thread', async (t) => {
  const { items, gens } = world(4, 2000)
  const inWorkers = createHnswIndex({ dimension, exactThreshold: 100 })
  const onMain = createHnswIndex({ dimension, exactThreshold: 100 })
  t.teardown(async () => {
    await inWorkers.close()
    await onMain.close()
  })
  await inWorkers.rebuild(items, { threads: 2 })
  await onMain.rebuild(items, { threads: 0 })
  t.same(inWorkers.stats(), onMain.stats())
  t.equal(inWorkers.stats().graphPlayers, 4)
  for (let q = 0; q < 20; q++) {
    const query = gens[q % 4].query()
    const a = await inWorkers.search(W, `p${q % 4}`, query, 10)
    const b = await onMain.search(W, `p${q % 4}`, query, 10)
    t.same(a.map(h => h.id), b.map(h => h.id))
  }
  // The worker-built graphs take later writes like any other.
  await inWorkers.remove(['m0'])
  await inWorkers.upsert([{ id: 'new', worldId: W, playerId: 'p0', embedding: items[0].embedding }])
  t.equal((await inWorkers.search(W, 'p0', items[0].embedding, 1))[0].id, 'new')
})
