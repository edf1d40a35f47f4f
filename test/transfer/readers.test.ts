// The readers of an export's big tables: the worker thread's own inflating and its number scanner must give
// exactly what yauzl's stream and JSON.parse give, and report a damaged entry like them.
import { test, type Test } from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import yauzl from 'yauzl'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { writeConvexExport } from '../fixtures/convexExport.ts'
import { importConvexExport } from '../../src/transfer/importConvex.ts'
import { numberScanner } from '../../src/transfer/numberScan.ts'

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

const scanner = numberScanner()

/** The scanner's doubles for `[texts]` against JSON.parse's, bit for bit (-0 included). */
function compare (t: Test, texts: string[], what: string): void {
  const line = Buffer.from(`[${texts.join(',')}]`)
  const want = JSON.parse(line.toString()) as number[]
  const count = scanner.scanArray(line, 0)
  t.equal(count, want.length, `${what}: every number read`)
  t.equal(scanner.end, line.length, `${what}: ends after the ]`)
  const wrong = want.flatMap((x, i) => Object.is(scanner.values[i], x) ? [] : [`${texts[i]} → ${scanner.values[i]} (JSON.parse: ${x})`])
  t.same(wrong.slice(0, 5), [], `${what}: the same doubles as JSON.parse`)
}

/** A seeded generator, so a failure can be reproduced. */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 15), z | 1)
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61)
    return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32
  }
}

test('the number scanner gives the doubles JSON.parse gives', async (t) => {
  const random = rng(7)
  const bits = new Uint32Array(2)
  const asDouble = new Float64Array(bits.buffer)
  const anyDouble = (): number => {
    for (;;) {
      bits[0] = random() * 2 ** 32
      bits[1] = random() * 2 ** 32
      if (Number.isFinite(asDouble[0])) return asDouble[0]!
    }
  }
  // Shortest round-trip text, as Convex writes it (ryu: `1.5e-7`, `10.0`), of every kind of double.
  const shortest = (x: number): string => {
    const a = Math.abs(x)
    if (a !== 0 && (a < 1e-5 || a >= 1e16)) return x.toExponential().replace('e+', 'e')
    return Number.isInteger(x) ? `${x}.0` : String(x)
  }
  const kinds: Record<string, () => number> = {
    'any double': anyDouble,
    'float32 embedding values': () => Math.fround((random() - 0.5) * 0.2),
    'float32 values of any size': () => Math.fround((random() - 0.5) * 10 ** Math.floor(random() * 30 - 15)),
    'doubles from 1e-22 to 1e22': () => (random() - 0.5) * 10 ** Math.floor(random() * 44 - 22),
    'powers of two and their neighbours': () => 2 ** Math.floor(random() * 200 - 100) * (1 + (Math.floor(random() * 3) - 1) * 2 ** -52)
  }
  for (const [what, next] of Object.entries(kinds)) {
    for (let round = 0; round < 40; round++) compare(t, Array.from({ length: 1000 }, () => shortest(next())), what)
  }
  // Decimal texts that are no double's shortest form: up to 22 digits, a point anywhere, exponents.
  for (let round = 0; round < 40; round++) {
    compare(t, Array.from({ length: 1000 }, () => {
      const n = 1 + Math.floor(random() * 22)
      let digits = String(1 + Math.floor(random() * 9))
      for (let j = 1; j < n; j++) digits += String(Math.floor(random() * 10))
      const dot = Math.floor(random() * (n + 1))
      let text = dot === 0 ? `0.${'0'.repeat(Math.floor(random() * 4))}${digits}` : dot === n ? digits : `${digits.slice(0, dot)}.${digits.slice(dot)}`
      if (random() < 0.2) text += `e${Math.floor(random() * 40 - 20)}`
      return random() < 0.5 ? `-${text}` : text
    }), 'decimal texts')
  }
  compare(t, [
    '0', '-0', '0.0', '-0.0', '0e0', '0E+5', '-0e-5', '1', '10.0', '1e-5', '1.5e-7', '1E2', '1e+2', '123.456e-2',
    '5e-324', '4.9e-324', '2.2250738585072014e-308', '2.225073858507201e-308', '1.7976931348623157e308', '1e308',
    '9007199254740992', '9007199254740993', '9007199254740995', '9007199254740993.0', '123456789012345678',
    '1234567890123456789', '12345678901234567890', '0.000000000000000000001', '1e22', '1e23', '1e-22', '1e-23',
    '0.1', '0.2', '0.3', '0.30000000000000004', '1.0000000000000002', '0.9999999999999999',
    // Exact midpoints between two doubles, in 17 to 19 digits: ties go to even.
    '4503599627370497.5', '4503599627370496.5', '2251799813685248.25', '2251799813685248.75', '1125899906842624.125'
  ], 'edge cases')
})

test('the number scanner refuses what is not a compact array of JSON numbers', async (t) => {
  for (const text of ['[01]', '[1.]', '[.5]', '[+1]', '[1e]', '[-]', '[1,]', '[1 ,2]', '[ 1]', '[1,2', '[1x]', '["a"]', '[null]', '[1.e5]', '[--1]', '[1e+]', '[Infinity]', '[NaN]', '[1,,2]', '[0x10]']) {
    t.equal(scanner.scanArray(Buffer.from(text), 0), -1, text)
  }
  t.equal(scanner.scanArray(Buffer.from('[]'), 0), 0, 'an empty array')
})

test('lines the scanner does not take are read whole by JSON.parse, to the same documents', async (t) => {
  const dir = await tempDir(t)
  const out = join(dir, 'export')
  await writeConvexExport({ out, memoriesPerAgent: 3 })
  const file = join(out, 'memoryEmbeddings', 'documents.jsonl')
  const lines = (await readFile(file, 'utf8')).split('\n')
  const embedding = (line: string): string => line.slice(line.indexOf('"embedding":[') + 12, line.indexOf(']') + 1)
  lines[0] = lines[0]!.replace('"embedding":', '"embe\\u0064ding":') // an escaped key
  lines[1] = lines[1]!.replace('"embedding":', '"embedding": ') // whitespace
  lines[2] = lines[2]!.replace('{', `{"embedding":${embedding(lines[3]!)},`) // the key twice: the last one counts
  lines[3] = lines[3]!.replace(/"embedding":\[[^\]]*\]/, `"embedding":[${Array.from({ length: 1024 }, (_, i) => ['1.5e-3', '-0.0', '12345678901234567890123', '3E+0'][i % 4]).join(',')}]`)
  lines[4] = lines[4]!.replace('"playerId"', '"nested":{"list":[1.5,2.5]},"playerId"')
  await writeFile(file, lines.join('\n'))
  const { store: a } = await embedded.fresh(t)
  const { store: b } = await embedded.fresh(t)
  const inMain = await importConvexExport(out, { store: a, dimension: 1024, embeddingModel: MODEL, workerMinBytes: Infinity })
  const inWorker = await importConvexExport(out, { store: b, dimension: 1024, embeddingModel: MODEL, workerMinBytes: 0 })
  t.same(inWorker.problems, inMain.problems, 'the same problems')
  t.same(inWorker.collections, inMain.collections, 'the same checksums')
  t.same(inWorker.tables, inMain.tables, 'the same counts')
})

test('the embeddings cache is imported beside the other tables: the report keeps table order, and progress only grows to the whole', async (t) => {
  const dir = await tempDir(t)
  const out = join(dir, 'export')
  await writeConvexExport({ out, memoriesPerAgent: 40 })
  const { store: a } = await embedded.fresh(t)
  const { store: b } = await embedded.fresh(t)
  const events: Array<{ table: string, bytes: number, totalBytes: number }> = []
  let clock = 0
  // Every table in a worker; a clock that moves a second per reading, so every progress report is made.
  const report = await importConvexExport(out, { store: a, dimension: 1024, embeddingModel: MODEL, workerMinBytes: 0, now: () => (clock += 1000), onProgress: (p) => { events.push(p) } })
  const tables = report.tables.map((r) => r.table)
  const cache = tables.indexOf('embeddingsCache')
  t.ok(cache > tables.indexOf('memories') && tables.indexOf('memories') > tables.indexOf('memoryEmbeddings'), `tables in the export's order: ${tables.join(', ')}`)
  t.same(Object.keys(report.collections), tables.filter((name) => name !== 'music'), 'checksums keyed in the same order')
  t.ok(events.every((e, i) => i === 0 || e.bytes >= events[i - 1]!.bytes), 'progress never goes back')
  t.equal(events.at(-1)!.bytes, events.at(-1)!.totalBytes, 'and ends at the export\'s size')
  // One table at a time gives the same report.
  const sequential = await importConvexExport(out, { store: b, dimension: 1024, embeddingModel: MODEL, workerMinBytes: Infinity })
  t.same(report.collections, sequential.collections, 'the same checksums as read on this thread')
  t.same(report.tables, sequential.tables, 'the same counts')
})
