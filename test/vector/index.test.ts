import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import type { Db } from 'mongodb'
import { createVectorIndex, resolveVectorIndexKind } from '../../src/vector/index.ts'

test('auto picks atlas only when the caller says it is connected to Atlas', async (t) => {
  t.equal(resolveVectorIndexKind('auto', true), 'atlas')
  t.equal(resolveVectorIndexKind('auto', false), 'hnsw')
  t.equal(resolveVectorIndexKind('auto', undefined), 'hnsw')
  t.equal(resolveVectorIndexKind('exact', true), 'exact')
})

test('createVectorIndex builds each kind', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-vector-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const hnsw = await createVectorIndex('auto', { dimension: 8, dir })
  t.equal(hnsw.kind, 'hnsw')
  t.equal(hnsw.index.kind, 'hnsw')
  t.equal(hnsw.needsRebuild, true, 'nothing persisted yet')
  await hnsw.index.close()

  const exact = await createVectorIndex('exact', { dimension: 8 })
  t.equal(exact.index.kind, 'exact')

  // The atlas index does no I/O until used, so a stand-in Db is enough to build it.
  const db = { collection: () => ({}) } as unknown as Db
  const atlas = await createVectorIndex('auto', { dimension: 8, atlas: true, db })
  t.equal(atlas.index.kind, 'atlas')
  t.equal(atlas.needsRebuild, false)
  await t.rejects(createVectorIndex('atlas', { dimension: 8 }), /needs a MongoDB Db/)
})
