// import → validate → backup → wipe → restore → validate, on every store: the checksums never change.
import { test } from 'tap'
import { writeFile, readFile } from 'node:fs/promises'
import { gunzipSync, gzipSync } from 'node:zlib'
import { join } from 'node:path'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { writeConvexExport } from '../fixtures/convexExport.ts'
import { importConvexExport } from '../../src/transfer/importConvex.ts'
import { validateStore } from '../../src/transfer/validate.ts'
import { backupStore, restoreStore } from '../../src/transfer/backup.ts'
import { wipe } from '../../src/engine/worlds.ts'
import { collectionNames } from '../../src/store/collections.ts'
import type { StoredWorldDoc } from '../../src/engine/worldDoc.ts'

const MODEL = 'mxbai-embed-large#1024'

for (const target of storeTargets()) {
  test(`Convex export round trip on the ${target.name} store`, { timeout: 300_000 }, async (t) => {
    const dir = await tempDir(t)
    const exportPath = join(dir, 'snapshot.zip')
    const manifest = await writeConvexExport({ out: exportPath, seed: 11 })
    const { store } = await target.fresh(t)

    // Every table read in a worker, as big ones are: embeddings reach the store as Float64Arrays.
    const imported = await importConvexExport(exportPath, { store, dimension: 1024, embeddingModel: MODEL, workerMinBytes: 0 })
    t.ok(imported.complete, 'the whole export was read')
    t.same(imported.problems, [], 'no problems')
    t.equal(imported.totals.skipped, 0, 'nothing skipped')
    for (const [table, { documents }] of Object.entries(manifest.tables)) {
      const row = imported.tables.find((r) => r.table === table)
      t.equal(row?.read, documents, `${table}: every document read`)
      if (table !== 'music') t.equal(row?.imported, documents, `${table}: every document imported`)
    }
    t.equal(await store.collection('memoryEmbeddings').count(), manifest.tables.memoryEmbeddings!.documents)

    // Ids and references survive: the world keeps its Convex id, its status points at it and at its engine.
    const status = await store.collection('worldStatus').findOne({ worldId: manifest.worldId })
    t.equal(status?._id, 'default', 'the export\'s default world is townhall\'s default world')
    t.equal(status?.engineId, manifest.engineId)
    const world = await store.collection<StoredWorldDoc>('worlds').findOne({ _id: manifest.worldId })
    t.ok(world !== null && Object.keys(world.agents).length >= 5, 'the world and its agents')
    const memory = await store.collection('memories').findOne({})
    const embedding = await store.collection('memoryEmbeddings').findOne({ _id: memory!.embeddingId as string })
    t.equal(embedding?.playerId, memory?.playerId, 'a memory finds its embedding under the Convex id')
    t.equal(await store.collection('memories').count({ worldId: manifest.worldId }), manifest.tables.memories!.documents, 'imported memories get the world of the export')
    t.equal(await store.collection('memoryEmbeddings').count({ worldId: manifest.worldId }), manifest.tables.memoryEmbeddings!.documents, 'and so do their embeddings')
    const cached = await store.collection('embeddingsCache').findOne({})
    t.match(cached, { model: MODEL, textHash: /^[0-9a-f]{64}$/ }, 'cache text hashes become hex under the model key')

    const validated = await validateStore({ store, dimension: 1024 })
    t.ok(validated.ok, `references hold: ${JSON.stringify(validated.checks)}`)
    for (const [name, sum] of Object.entries(imported.collections)) {
      t.same(validated.collections[name as keyof typeof validated.collections], sum, `${name}: validate-import gives the import's checksum`)
    }

    // Read on this thread this time: the same checksums.
    const again = await importConvexExport(exportPath, { store, dimension: 1024, embeddingModel: MODEL, workerMinBytes: Infinity })
    t.equal(again.totals.imported, 0, 'a second run imports nothing')
    t.equal(again.totals.present, imported.totals.imported, 'and finds everything present')
    t.same(again.collections, imported.collections)

    const backupFile = join(dir, 'backup.thb')
    const backup = await backupStore(store, backupFile)
    t.same(backup.collections, validated.collections, 'the backup holds the validated content')
    t.equal(backup.snapshot, target.name === 'embedded', 'the embedded store backs up from one snapshot')

    await t.rejects(restoreStore(store, backupFile), { name: 'BackupFileError', message: /empty deployment.*wipe --yes/ }, 'restore refuses a deployment that is not empty')
    await wipe(store)
    t.equal(await store.collection('memories').count(), 0, 'wiped')
    const restored = await restoreStore(store, backupFile)
    t.equal(restored.documents, backup.documents)
    const after = await validateStore({ store, dimension: 1024 })
    t.same(after.collections, validated.collections, 'validate after restore gives the same checksums')
    t.ok(after.ok)
    const worldAfter = await store.collection<StoredWorldDoc>('worlds').findOne({ _id: manifest.worldId })
    t.same(worldAfter?.step, world?.step, 'the engine resumes where it was')
  })
}

test('a damaged or truncated backup writes nothing', async (t) => {
  const target = storeTargets()[0]!
  const dir = await tempDir(t)
  const exportPath = join(dir, 'export')
  await writeConvexExport({ out: exportPath, seed: 5, memoriesPerAgent: 3 })
  const { store: source } = await target.fresh(t)
  await importConvexExport(exportPath, { store: source, dimension: 1024, embeddingModel: MODEL })
  const file = join(dir, 'b.thb')
  await backupStore(source, file)
  const text = gunzipSync(await readFile(file)).toString('utf8')
  const lines = text.split('\n')

  const cases: Array<[string, string, RegExp]> = [
    ['no end marker', lines.slice(0, -3).join('\n') + '\n', /no end marker.*truncated/],
    ['a document edited', text.replace('"numMessages":', '"numMessages":1'), /checksum.*damaged/],
    ['a line cut short', lines.slice(0, 5).join('\n') + '\n' + lines[5]!.slice(0, 20), /cut short/],
    ['not a backup', '{"hello":1}\n', /not a townhall backup/]
  ]
  for (const [name, content, message] of cases) {
    const bad = join(dir, `${name.replace(/ /g, '-')}.thb`)
    await writeFile(bad, gzipSync(content))
    const { store } = await target.fresh(t)
    await t.rejects(restoreStore(store, bad), message, name)
    for (const c of collectionNames) t.equal(await store.collection(c).count(), 0, `${name}: ${c} untouched`)
  }
  const cut = join(dir, 'cut.thb')
  const bytes = await readFile(file)
  await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)))
  const { store } = await target.fresh(t)
  await t.rejects(restoreStore(store, cut), /truncated|damaged|unexpected end/i, 'a gzip stream cut in half')
  t.equal(await store.collection('worlds').count(), 0)
})
