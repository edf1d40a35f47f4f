import { test } from 'tap'
import { createExactIndex } from '../../src/vector/exact.ts'
import { createRandom } from '../../src/vector/synthetic.ts'
import { VectorDimensionError } from '../../src/vector/types.ts'

const W = 'w:1'

const dimension = 16

function randomVectors (n: number, seed: number): Float32Array[] {
  const random = createRandom(seed)
  return Array.from({ length: n }, () => Float32Array.from({ length: dimension }, () => random() * 2 - 1))
}

function cosine (a: Float32Array, b: Float32Array): number {
  let dot = 0; let na = 0; let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]
    na += a[i] * a[i]
    nb += b[i] * b[i]
  }
  return dot / Math.sqrt(na * nb)
}

test('exact search matches a brute-force cosine ranking', async (t) => {
  const index = createExactIndex({ dimension })
  t.teardown(() => index.close())
  const vectors = randomVectors(300, 1)
  await index.upsert(vectors.map((embedding, i) => ({ id: `m${i}`, worldId: W, playerId: `p${i % 3}`, embedding })))
  t.equal(index.size(), 300)
  for (const [qi, query] of randomVectors(20, 2).entries()) {
    const playerId = `p${qi % 3}`
    const expected = vectors
      .map((v, i) => ({ id: `m${i}`, playerId: `p${i % 3}`, score: cosine(query, v) }))
      .filter(h => h.playerId === playerId)
      .sort((a, b) => b.score - a.score)
      .slice(0, 10)
    const hits = await index.search(W, playerId, query, 10)
    t.same(hits.map(h => h.id), expected.map(h => h.id))
    for (const [i, hit] of hits.entries()) t.ok(Math.abs(hit.score - expected[i].score) < 1e-5)
  }
})

test('search never returns another player\'s memory', async (t) => {
  const index = createExactIndex({ dimension })
  const [a, b] = randomVectors(2, 3)
  await index.upsert([{ id: 'mine', worldId: W, playerId: 'alice', embedding: a }, { id: 'theirs', worldId: W, playerId: 'bob', embedding: b }])
  t.same((await index.search(W, 'alice', b, 5)).map(h => h.id), ['mine'])
  t.same(await index.search(W, 'carol', b, 5), [])
})

test('removed and replaced memories are never returned', async (t) => {
  const index = createExactIndex({ dimension })
  const vectors = randomVectors(50, 4)
  await index.upsert(vectors.map((embedding, i) => ({ id: `m${i}`, worldId: W, playerId: 'p', embedding })))
  await index.remove(['m0', 'm7', 'unknown'])
  t.equal(index.size(), 48)
  const hits = await index.search(W, 'p', vectors[0], 50)
  t.equal(hits.length, 48)
  t.notOk(hits.some(h => h.id === 'm0' || h.id === 'm7'))
  // An upsert that moves a memory to another player leaves the first one.
  await index.upsert([{ id: 'm1', worldId: W, playerId: 'q', embedding: vectors[1] }])
  t.notOk((await index.search(W, 'p', vectors[1], 50)).some(h => h.id === 'm1'))
  t.same((await index.search(W, 'q', vectors[1], 5)).map(h => h.id), ['m1'])
  // Replacing the embedding in place changes the ranking.
  await index.upsert([{ id: 'm2', worldId: W, playerId: 'p', embedding: vectors[3] }])
  const top = await index.search(W, 'p', vectors[3], 2)
  t.same(top.map(h => h.id).sort(), ['m2', 'm3'])
})

test('a vector of the wrong dimension is rejected and nothing is written', async (t) => {
  const index = createExactIndex({ dimension })
  const [good] = randomVectors(1, 5)
  await t.rejects(index.upsert([
    { id: 'ok', worldId: W, playerId: 'p', embedding: good },
    { id: 'bad', worldId: W, playerId: 'p', embedding: new Float32Array(dimension + 1) }
  ]), VectorDimensionError)
  t.equal(index.size(), 0)
  await t.rejects(index.search(W, 'p', new Float32Array(3), 1), { code: 'TOWNHALL_ERR_VECTOR_DIMENSION' })
})

test('a zero vector scores zero instead of NaN', async (t) => {
  const index = createExactIndex({ dimension })
  const [v] = randomVectors(1, 6)
  await index.upsert([{ id: 'zero', worldId: W, playerId: 'p', embedding: new Float32Array(dimension) }, { id: 'v', worldId: W, playerId: 'p', embedding: v }])
  const hits = await index.search(W, 'p', v, 2)
  t.same(hits.map(h => h.id), ['v', 'zero'])
  t.equal(hits[1].score, 0)
})
