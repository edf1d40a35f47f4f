// Bad exports: every document that is not imported is counted with its reason and named by file and line.
import { test } from 'tap'
import { readFile, writeFile, truncate, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { writeConvexExport } from '../fixtures/convexExport.ts'
import { importConvexExport } from '../../src/transfer/importConvex.ts'
import { collectionNames } from '../../src/store/collections.ts'

const embedded = storeTargets()[0]!
const MODEL = 'm#1024'

test('a truncated ZIP is reported by name and nothing is written', async (t) => {
  const dir = await tempDir(t)
  const zip = join(dir, 'snapshot.zip')
  await writeConvexExport({ out: zip, memoriesPerAgent: 3 })
  await truncate(zip, Math.floor((await stat(zip)).size * 0.6))
  const { store } = await embedded.fresh(t)
  const report = await importConvexExport(zip, { store, dimension: 1024, embeddingModel: MODEL })
  t.notOk(report.complete)
  t.match(report.problems, [{ file: zip, message: /not a readable ZIP archive.*truncated/ }])
  for (const name of collectionNames) t.equal(await store.collection(name).count(), 0, `${name} untouched`)
})

test('a missing export is one clear line', async (t) => {
  const { store } = await embedded.fresh(t)
  const report = await importConvexExport('/nonexistent/export.zip', { store, dimension: 1024, embeddingModel: MODEL })
  t.match(report.problems, [{ file: '/nonexistent/export.zip', message: /no such file or directory/ }])
  t.notOk(report.complete)
})

for (const reader of ['main thread', 'worker thread'] as const) {
  test(`bad lines, an unknown table, a cut-off file and a wrong dimension (read in the ${reader})`, async (t) => {
    const workerMinBytes = reader === 'worker thread' ? 0 : Infinity
    const dir = await tempDir(t)
    const out = join(dir, 'export')
    const manifest = await writeConvexExport({ out, memoriesPerAgent: 4, extraTables: { customNotes: [{ text: 'hello' }, { text: 'world' }] } })
    // A line of messages that is not JSON, and one that is JSON but no message.
    const messagesFile = join(out, 'messages', 'documents.jsonl')
    const messages = (await readFile(messagesFile, 'utf8')).split('\n')
    messages[1] = '{"_id": broken'
    messages[2] = JSON.stringify({ _id: 'x'.repeat(32), _creationTime: 1.5, text: 7 })
    await writeFile(messagesFile, messages.join('\n'))
    // inputs cut off in the middle of its last line.
    const inputsFile = join(out, 'inputs', 'documents.jsonl')
    const inputs = await readFile(inputsFile, 'utf8')
    await writeFile(inputsFile, inputs.slice(0, inputs.length - 30))

    const { store } = await embedded.fresh(t)
    const report = await importConvexExport(out, { store, dimension: 1024, embeddingModel: MODEL, workerMinBytes })
    const byTable = Object.fromEntries(report.tables.map((r) => [r.table, r]))
    t.notOk(report.complete, 'a cut-off file makes the import incomplete')

    t.equal(byTable.messages!.skipped, 2)
    t.equal(byTable.messages!.imported, manifest.tables.messages!.documents - 2, 'the other messages are imported')
    t.match(report.problems, [
      { file: 'messages/documents.jsonl', line: 2, message: /not valid JSON/ },
      { file: 'messages/documents.jsonl', line: 3, message: /not an AI Town messages document: .*/ }
    ].map((p) => ({ ...p })), 'bad lines are named by file and line')
    t.ok(report.problems.some((p) => p.file === 'customNotes/documents.jsonl' && p.line === 1 && /unknown table "customNotes"/.test(p.message)), 'an unknown table is reported')
    t.equal(byTable.customNotes!.skipped, 2)
    t.ok(report.problems.some((p) => p.file === 'inputs/documents.jsonl' && /cut short.*truncated/.test(p.message)), 'a cut-off last line is reported')
    t.equal(byTable.inputs!.imported, manifest.tables.inputs!.documents - 1, 'every complete input line is imported')
    t.equal(report.totals.skipped, report.tables.reduce((s, r) => s + r.skipped, 0))

    // The same export with another embedding dimension: every vector is refused, and the memories that need them.
    const { store: other } = await embedded.fresh(t)
    const wrong = await importConvexExport(out, { store: other, dimension: 768, embeddingModel: 'm#768', workerMinBytes })
    const w = Object.fromEntries(wrong.tables.map((r) => [r.table, r]))
    t.equal(w.memoryEmbeddings!.skipped, manifest.tables.memoryEmbeddings!.documents)
    t.same(Object.keys(w.memoryEmbeddings!.reasons), ['embedding has 1024 dimensions, EMBEDDING_DIMENSION is 768'])
    t.same(w.memories!.reasons, { 'its embedding was skipped': manifest.tables.memories!.documents })
    t.equal(await other.collection('memories').count(), 0, 'no memory without its embedding')
    t.ok(wrong.problems.some((p) => p.file === 'memoryEmbeddings/documents.jsonl' && p.line === 1), 'named by file and line')
    t.ok(wrong.problems.some((p) => /^\d+ more lines: embedding has 1024 dimensions/.test(p.message)), 'long runs of the same problem are summarised')
  })
}

test('the worker thread and the main thread read an export to the same documents', async (t) => {
  const dir = await tempDir(t)
  const zip = join(dir, 'snapshot.zip')
  await writeConvexExport({ out: zip, seed: 9, memoriesPerAgent: 4 })
  const { store: a } = await embedded.fresh(t)
  const { store: b } = await embedded.fresh(t)
  const inMain = await importConvexExport(zip, { store: a, dimension: 1024, embeddingModel: MODEL, workerMinBytes: Infinity })
  const inWorker = await importConvexExport(zip, { store: b, dimension: 1024, embeddingModel: MODEL, workerMinBytes: 0 })
  t.same(inWorker.problems, [])
  t.same(inWorker.collections, inMain.collections, 'same checksums')
  const embedding = (await b.collection('memoryEmbeddings').findOne({}))?.embedding as number[]
  t.ok(Array.isArray(embedding) && embedding.length === 1024 && embedding.every((x) => typeof x === 'number'), 'embeddings arrive as arrays of numbers')
})

test('--dry-run reads and checks everything and writes nothing', async (t) => {
  const dir = await tempDir(t)
  const zip = join(dir, 'snapshot.zip')
  const manifest = await writeConvexExport({ out: zip, memoriesPerAgent: 2 })
  const { store } = await embedded.fresh(t)
  const report = await importConvexExport(zip, { store, dimension: 1024, embeddingModel: MODEL, dryRun: true })
  t.ok(report.dryRun)
  t.equal(report.tables.find((r) => r.table === 'memories')?.imported, manifest.tables.memories!.documents, 'says what it would import')
  for (const name of collectionNames) t.equal(await store.collection(name).count(), 0, `${name} untouched`)
  const real = await importConvexExport(zip, { store, dimension: 1024, embeddingModel: MODEL })
  t.same(real.collections, report.collections, 'the dry run computes the same checksums')
})

test('the legacy export format (before 2026-03) imports to the same documents', async (t) => {
  const dir = await tempDir(t)
  const uniform = join(dir, 'uniform.zip')
  const legacy = join(dir, 'legacy.zip')
  await writeConvexExport({ out: uniform, seed: 3, memoriesPerAgent: 2 })
  await writeConvexExport({ out: legacy, seed: 3, memoriesPerAgent: 2, legacy: true })
  const { store: a } = await embedded.fresh(t)
  const { store: b } = await embedded.fresh(t)
  const ra = await importConvexExport(uniform, { store: a, dimension: 1024, embeddingModel: MODEL })
  const rb = await importConvexExport(legacy, { store: b, dimension: 1024, embeddingModel: MODEL })
  t.same(rb.problems, [])
  t.ok(rb.tables.filter((r) => r.read > 0).every((r) => r.format === 'legacy'), 'recognised as legacy')
  t.same(rb.collections, ra.collections, 'same documents, same checksums')
})
