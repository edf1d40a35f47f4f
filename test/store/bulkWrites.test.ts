// The embedded store's bulk writes: WAL checkpoints run in a background thread while an import writes, and
// when the run ends everything written is in the database file and SQLite checkpoints as before.
import { test } from 'tap'
import { statSync } from 'node:fs'
import Database from 'better-sqlite3'
import { EmbeddedStore } from '../../src/store/embedded.ts'
import { tempDir } from '../helpers/stores.ts'

const vector = (seed: number): number[] => Array.from({ length: 1024 }, (_, i) => Math.sin(seed + i) / 7)

test('a bulk run of writes ends with the WAL copied into the database', async (t) => {
  const dir = await tempDir(t)
  const store = new EmbeddedStore({ dataDir: dir })
  t.teardown(async () => { await store.close() })
  const embeddings = store.collection('memoryEmbeddings')
  const end = await store.bulkWrites()
  for (let batch = 0; batch < 12; batch++) {
    await embeddings.insertMany(Array.from({ length: 250 }, (_, i) => ({ _id: `e${batch}-${i}`, worldId: 'w', playerId: 'p:1', embedding: vector(batch * 250 + i) })))
  }
  await end()
  t.equal(await embeddings.count(), 3000, 'every document is there')
  t.same((await embeddings.findOne({ _id: 'e7-3' }))?.embedding, vector(7 * 250 + 3), 'and reads back exactly')
  const db = new Database(store.path)
  t.teardown(() => { db.close() })
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'autocheckpoint is back')
  const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number, checkpointed: number }>
  t.equal(result!.log - result!.checkpointed, 0, 'nothing left to checkpoint')
  t.ok(statSync(store.path).size > 3000 * 8192, 'the database file holds the vectors')
})

test('a reader holding an old snapshot does not keep a bulk run from ending', async (t) => {
  const dir = await tempDir(t)
  const store = new EmbeddedStore({ dataDir: dir })
  t.teardown(async () => { await store.close() })
  await store.collection('memoryEmbeddings').insertOne({ worldId: 'w', playerId: 'p:1', embedding: vector(0) })
  const reader = new Database(store.path, { readonly: true })
  t.teardown(() => { reader.close() })
  reader.exec('BEGIN')
  reader.prepare('SELECT count(*) FROM memoryEmbeddings').get()
  const end = await store.bulkWrites()
  await store.collection('memoryEmbeddings').insertMany(Array.from({ length: 600 }, (_, i) => ({ worldId: 'w', playerId: 'p:1', embedding: vector(i + 1) })))
  await end()
  reader.exec('COMMIT')
  t.equal(await store.collection('memoryEmbeddings').count(), 601)
})
