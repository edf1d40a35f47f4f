// What only the embedded store has: its SQLite file's layout across versions, and WAL checkpoints in a thread
// of their own once it writes in bulk.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { test, type Test } from 'tap'
import { EmbeddedStore } from '../../src/store/embedded.ts'
import { encodeDoc } from '../../src/store/codec.ts'
import type { Doc } from '../../src/store/types.ts'

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3')

interface EmbeddingDoc extends Doc { playerId: string, worldId: string, embedding: number[] }

const vector = (seed: number): number[] => Array.from({ length: 1024 }, (_, i) => Math.sin(seed * 7919 + i) / 5)

async function dataDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-embedded-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

test('a store written before the binary column opens, reads its documents, and writes new ones beside them', async (t) => {
  const dir = await dataDir(t)
  // The layout before: one JSON text column, embeddings as base64 inside it.
  const old = new Database(join(dir, 'townhall.sqlite'))
  old.pragma('journal_mode = WAL')
  old.exec('CREATE TABLE "memoryEmbeddings" (_id TEXT PRIMARY KEY, doc TEXT NOT NULL)')
  const before: EmbeddingDoc = { _id: 'old', _creationTime: 1, playerId: 'p:1', worldId: 'w', embedding: vector(1) }
  old.prepare('INSERT INTO "memoryEmbeddings" (_id, doc) VALUES (?, ?)').run(before._id, encodeDoc(before))
  old.close()

  const store = new EmbeddedStore({ dataDir: dir })
  t.teardown(() => store.close())
  const embeddings = store.collection<EmbeddingDoc>('memoryEmbeddings')
  t.same(await embeddings.findOne({ _id: 'old' }), before, 'the old row reads as it was written')
  const added = await embeddings.insertOne({ playerId: 'p:1', worldId: 'w', embedding: vector(2) })
  t.same((await embeddings.find({ playerId: 'p:1' }, { sort: { _creationTime: 1 } })).map((d) => d.embedding), [before.embedding, added.embedding])
  await embeddings.updateOne({ _id: 'old' }, { $set: { embedding: vector(3) } })
  t.same((await embeddings.findOne({ _id: 'old' }))!.embedding, vector(3), 'an old row rewritten keeps its new embedding')

  // Two stores opening the same old file at once: the column is added once, and both work.
  const again = new EmbeddedStore({ dataDir: dir })
  t.equal(await again.collection('memoryEmbeddings').count(), 2)
  await again.close()
})

test('bulk writes: checkpoints run beside the writer, the WAL stays bounded, and nothing is lost', async (t) => {
  const dir = await dataDir(t)
  // Small thresholds: the worker starts after 256 KB and the WAL restarts past 1 MB (256 pages).
  const store = new EmbeddedStore({ dataDir: dir, checkpoints: { startBytes: 256 << 10, restartFrames: 256 } })
  const embeddings = store.collection<EmbeddingDoc>('memoryEmbeddings')
  const wal = join(dir, 'townhall.sqlite-wal')
  const db = join(dir, 'townhall.sqlite')
  let maxWal = 0
  const batches = 60
  for (let b = 0; b < batches; b++) {
    // 50 embeddings of 8 KB each: 400 KB per transaction, 24 MB in all.
    await embeddings.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: `e${b}-${i}`, _creationTime: b * 100 + i, playerId: `p:${i % 5}`, worldId: 'w', embedding: vector(b * 50 + i) })))
    maxWal = Math.max(maxWal, statSync(wal).size)
  }
  t.ok(statSync(db).size > 16e6, `the database file holds most of what was written (${(statSync(db).size / 1e6).toFixed(1)} MB): the WAL was checkpointed while writing`)
  t.ok(maxWal < 12e6, `the WAL stayed bounded: at most ${(maxWal / 1e6).toFixed(1)} MB for 24 MB written`)
  await store.close()
  t.notOk(existsSync(wal), 'closing removes the WAL: the worker closed its connection first')

  const reopened = new EmbeddedStore({ dataDir: dir })
  t.teardown(() => reopened.close())
  const read = reopened.collection<EmbeddingDoc>('memoryEmbeddings')
  t.equal(await read.count(), batches * 50)
  t.same((await read.findOne({ _id: 'e37-12' }))!.embedding, vector(37 * 50 + 12))
})

test('a writer killed while checkpoints run beside it loses no committed write', async (t) => {
  const dir = await dataDir(t)
  // The child writes batches and says which one it committed; it is killed mid-stream.
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
    import { EmbeddedStore } from ${JSON.stringify(new URL('../../src/store/embedded.ts', import.meta.url).pathname)}
    const store = new EmbeddedStore({ dataDir: ${JSON.stringify(dir)}, checkpoints: { startBytes: 64 << 10, restartFrames: 128 } })
    const c = store.collection('memoryEmbeddings')
    const v = Array.from({ length: 1024 }, (_, i) => Math.sin(i) / 3)
    for (let b = 0; ; b++) {
      await c.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: b + '-' + i, playerId: 'p', worldId: 'w', embedding: v })))
      process.stdout.write(b + '\\n')
      await new Promise((resolve) => setImmediate(resolve))
    }
  `], { stdio: ['ignore', 'pipe', 'inherit'] })
  let committed = -1
  child.stdout.setEncoding('utf8')
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: string) => {
      const lines = chunk.trim().split('\n')
      committed = Number(lines[lines.length - 1])
      if (committed >= 150) resolve()
    })
  })
  child.kill('SIGKILL')
  await once(child, 'exit')
  const store = new EmbeddedStore({ dataDir: dir })
  t.teardown(() => store.close())
  const count = await store.collection('memoryEmbeddings').count()
  t.ok(count >= (committed + 1) * 20, `every batch reported committed is there (${count} documents, ${committed + 1} batches reported)`)
  t.equal(count % 20, 0, 'and only whole batches')
})
