// The readers of an export's big tables: the worker thread's own inflating and its number scanner must give
// exactly what yauzl's stream and JSON.parse give, and report a damaged entry like them.
import { test } from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import yauzl from 'yauzl'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { writeConvexExport } from '../fixtures/convexExport.ts'
import { importConvexExport } from '../../src/transfer/importConvex.ts'

const embedded = storeTargets()[0]!
const MODEL = 'm#1024'

/** Where an entry's record sits in the central directory, and its compressed size. */
async function centralRecord (zip: string, name: string): Promise<{ compressedSize: number }> {
  const file = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.open(zip, { lazyEntries: true }, (err, z) => { if (err !== null || z === undefined) reject(err); else resolve(z) })
  })
  return await new Promise((resolve, reject) => {
    file.on('entry', (e: yauzl.Entry) => {
      if (e.fileName === name) { file.close(); resolve({ compressedSize: e.compressedSize }) } else file.readEntry()
    })
    file.on('end', () => { reject(new Error(`no ${name}`)) })
    file.readEntry()
  })
}

test('an entry whose deflate data ends early is reported as unreadable by both readers', async (t) => {
  const dir = await tempDir(t)
  const zip = join(dir, 'snapshot.zip')
  await writeConvexExport({ out: zip, memoriesPerAgent: 6 })
  const name = 'memoryEmbeddings/documents.jsonl'
  const { compressedSize } = await centralRecord(zip, name)
  // Halve the compressed size in the central directory record: inflating runs out of input half-way.
  const bytes = await readFile(zip)
  const at = bytes.lastIndexOf(Buffer.from(name))
  t.equal(bytes.readUInt32LE(at - 46), 0x02014b50, 'found the central directory record')
  const record = at - 46
  if (bytes.readUInt32LE(record + 20) !== 0xffffffff) {
    bytes.writeUInt32LE(Math.floor(compressedSize / 2), record + 20)
  } else {
    // ZIP64: the size is in the extra field (id 1), after the uncompressed size when that is there too.
    const extra = at + name.length
    t.equal(bytes.readUInt16LE(extra), 1, 'a ZIP64 extra field')
    const offset = bytes.readUInt32LE(record + 24) === 0xffffffff ? 12 : 4
    bytes.writeBigUInt64LE(BigInt(Math.floor(compressedSize / 2)), extra + offset)
  }
  await writeFile(zip, bytes)
  for (const workerMinBytes of [Infinity, 0]) {
    const { store } = await embedded.fresh(t)
    const report = await importConvexExport(zip, { store, dimension: 1024, embeddingModel: MODEL, workerMinBytes })
    t.notOk(report.complete, `incomplete (${workerMinBytes === 0 ? 'worker' : 'main thread'})`)
    t.ok(report.problems.some((p) => p.file === name && /could not be read to its end/.test(p.message)), `${name} is named (${workerMinBytes === 0 ? 'worker' : 'main thread'})`)
  }
})
