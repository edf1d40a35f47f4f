// The lines of a table, parsed, in batches: on this thread for small tables, or in a worker thread for big
// ones, where inflating, splitting lines on `\n` and parsing (about half of an import's CPU, for tables of
// 1,024-number embeddings: their numbers are scanned into Float64Arrays by numberScan.ts, the rest of each line
// goes to JSON.parse) run beside the main thread, which maps, checksums and writes. Batches flow with
// credits, so the worker never runs more than a few batches ahead. The worker is evaluated from source (like
// the HNSW build worker) so it runs the same under tsx and the build; its line splitting mirrors readLines.
import { createRequire } from 'node:module'
import type { Readable } from 'node:stream'
import { Worker } from 'node:worker_threads'
import { readLines } from './exportSource.ts'
import { numberScanner } from './numberScan.ts'

/** One line of a table, as the worker read it. */
export type WorkerLine =
  | { n: number, doc: unknown }
  | { n: number, error: string }
  /** The last line had no newline: the file is cut short. */
  | { n: number, cut: true }

/** Lines in file order; `bytes` is how far into the file the reader has got. */
export interface LineBatch { items: WorkerLine[], bytes: number }
type Reply = LineBatch | { done: true, bytes: number } | { failed: string, line: number }

const source = `
const { parentPort, workerData } = require('node:worker_threads')
const fs = require('node:fs')
const path = require('node:path')
const { Readable } = require('node:stream')
const zlib = require('node:zlib')
const { file, kind, entry, window, batchDocs, batchBytes } = workerData
let credits = window
let wake = null
parentPort.on('message', () => { credits++; if (wake !== null) { const w = wake; wake = null; w() } })
const CHUNK = 1 << 20
// The entry's deflate data is read straight from the file and inflated in 1 MiB chunks: yauzl's own stream
// inflates in 16 KiB chunks through three more stream stages, which cost 2.6 times the CPU of inflating.
// Sizes are checked as yauzl checks them, with its messages.
function openEntry (zip, e) {
  return new Promise((resolve, reject) => {
    if (e.isEncrypted() || (e.compressionMethod !== 0 && e.compressionMethod !== 8)) {
      // Not a plain stored or deflated entry: yauzl says why.
      zip.openReadStream(e, (err, stream) => err ? reject(err) : resolve({ stream, expected: -1 }))
      return
    }
    zip.readLocalFileHeader(e, { minimal: true }, (err, header) => {
      if (err) return reject(err)
      const raw = e.compressedSize === 0
        ? Readable.from([])
        : fs.createReadStream(file, { start: header.fileDataStart, end: header.fileDataStart + e.compressedSize - 1, highWaterMark: CHUNK })
      if (e.compressionMethod === 0) return resolve({ stream: raw, expected: e.uncompressedSize })
      const inflate = zlib.createInflateRaw({ chunkSize: CHUNK, readableHighWaterMark: 8 * CHUNK })
      raw.on('error', (x) => inflate.destroy(x))
      resolve({ stream: raw.pipe(inflate), expected: e.uncompressedSize })
    })
  })
}
function open () {
  if (kind === 'directory') return Promise.resolve({ stream: fs.createReadStream(path.join(file, ...entry.split('/')), { highWaterMark: CHUNK }), expected: -1 })
  const yauzl = require(workerData.yauzlPath)
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, strictFileNames: false }, (err, zip) => {
      if (err) return reject(err)
      zip.on('entry', (e) => {
        if (e.fileName !== entry) return zip.readEntry()
        openEntry(zip, e).then((opened) => {
          opened.stream.on('close', () => zip.close())
          resolve(opened)
        }, reject)
      })
      zip.on('end', () => reject(new Error('no entry ' + entry)))
      zip.on('error', reject)
      zip.readEntry()
    })
  })
}
// Long number arrays (embeddings) travel as Float64Array: cloned as one block, where a cloned array arrives boxed and slow.
function typed (v) {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) {
    if (v.length >= 64 && v.every((x) => typeof x === 'number')) return new Float64Array(v)
    for (let i = 0; i < v.length; i++) v[i] = typed(v[i])
    return v
  }
  for (const k in v) v[k] = typed(v[k])
  return v
}
// The scanner's source, from numberScan.ts (__name: the helper tsx adds around named functions; a no-op here).
const __name = (f) => f
const scanner = (${numberScanner.toString()})()
const KEY_ARRAY = Buffer.from('":[')
/**
 * A line whose document has a top-level key holding a long array of numbers (an embedding), with that array
 * read by the scanner and everything else by JSON.parse; null when the line is anything else (JSON.parse
 * reads it whole, and reports what is wrong with it). The key must be spelled once and without escapes, so
 * the object JSON.parse builds holds the placeholder exactly where the array was.
 */
function scanLine (line) {
  let at = line.indexOf(KEY_ARRAY)
  while (at !== -1) {
    const c = line[at + 3]
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) break
    at = line.indexOf(KEY_ARRAY, at + 3)
  }
  if (at === -1) return null
  const open = at + 2
  const count = scanner.scanArray(line, open)
  if (count < 64) return null
  const close = scanner.end
  const keyStart = line.lastIndexOf(0x22, at - 1)
  if (keyStart === -1 || line.indexOf(0x5c) !== -1) return null
  const key = line.subarray(keyStart, at + 2)
  if (line.indexOf(key) !== keyStart || line.indexOf(key, close) !== -1) return null
  const name = line.toString('utf8', keyStart + 1, at)
  let doc
  try {
    doc = JSON.parse(line.toString('utf8', 0, open) + '0' + line.toString('utf8', close))
  } catch {
    return null
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || name === '__proto__' || doc[name] !== 0) return null
  typed(doc)
  doc[name] = toArena(scanner.values, count)
  return doc
}
// The batch's scanned arrays are views of one buffer, transferred with the batch: no allocation and no copy
// per array, and one transfer instead of a clone each.
let arena = new Float64Array(1 << 18)
let arenaUsed = 0
function toArena (values, count) {
  if (arenaUsed + count > arena.length) {
    // Grown: the arrays already placed keep viewing the old buffer, which is transferred with it (below).
    arenas.push(arena.buffer)
    arena = new Float64Array(Math.max(arena.length, count * 4))
    arenaUsed = 0
  }
  const view = arena.subarray(arenaUsed, arenaUsed + count)
  view.set(values.subarray(0, count))
  arenaUsed += count
  return view
}
let arenas = []
/** The buffers this batch's arrays view, to transfer; the next batch starts a fresh one. */
function takeArenas () {
  const taken = arenas
  if (arenaUsed > 0) {
    taken.push(arena.buffer)
    arena = new Float64Array(arena.length)
    arenaUsed = 0
  }
  arenas = []
  return taken
}
function parseLine (piece) {
  return scanLine(piece) ?? typed(JSON.parse(piece.toString('utf8')))
}
let number = 0
let bytes = 0
async function run () {
  const { stream, expected } = await open()
  let batch = []
  let size = 0
  const post = async () => {
    if (batch.length === 0) return
    if (credits <= 0) await new Promise((resolve) => { wake = resolve })
    credits--
    parentPort.postMessage({ items: batch, bytes }, takeArenas())
    batch = []
    size = 0
  }
  let pending = []
  let inflated = 0
  for await (const chunk of stream) {
    inflated += chunk.length
    if (expected >= 0 && inflated > expected) throw new Error('too many bytes in the stream. expected ' + expected + '. got at least ' + inflated)
    let start = 0
    let nl = chunk.indexOf(10, start)
    while (nl !== -1) {
      const piece = pending.length === 0 ? chunk.subarray(start, nl) : Buffer.concat([...pending, chunk.subarray(start, nl)])
      pending = []
      number++
      bytes += piece.length + 1
      if (piece.length > 0) {
        try {
          batch.push({ n: number, doc: parseLine(piece) })
        } catch (err) {
          batch.push({ n: number, error: 'not valid JSON (' + err.message + ')' })
        }
        size += piece.length
        if (batch.length >= batchDocs || size >= batchBytes) await post()
      }
      start = nl + 1
      nl = chunk.indexOf(10, start)
    }
    if (start < chunk.length) pending.push(chunk.subarray(start))
  }
  if (expected >= 0 && inflated < expected) throw new Error('not enough bytes in the stream. expected ' + expected + '. got only ' + inflated)
  if (pending.length > 0) {
    number++
    bytes += Buffer.concat(pending).length
    batch.push({ n: number, cut: true })
  }
  await post()
  parentPort.postMessage({ done: true, bytes })
}
run().catch((err) => parentPort.postMessage({ failed: err.message, line: number + 1 }))
`

const yauzlPath = createRequire(import.meta.url).resolve('yauzl')
const YOUNG_GENERATION_MB = 192
const BATCH_DOCS = 256

/** The same batches as the worker's, read and parsed on this thread (small tables: no worker to start). */
export async function * parseTableLines (stream: Readable): AsyncGenerator<LineBatch> {
  let items: WorkerLine[] = []
  let bytes = 0
  for await (const { line, number, bytes: b, terminated } of readLines(stream)) {
    bytes = b
    if (line === '' && terminated) continue
    if (!terminated) {
      items.push({ n: number, cut: true })
      continue
    }
    try {
      items.push({ n: number, doc: JSON.parse(line) })
    } catch (err) {
      items.push({ n: number, error: `not valid JSON (${(err as Error).message})` })
    }
    if (items.length >= BATCH_DOCS) {
      yield { items, bytes }
      items = []
    }
  }
  if (items.length > 0) yield { items, bytes }
}

export class WorkerReadError extends Error {
  constructor (message: string, readonly line: number) {
    super(message)
  }
}

/**
 * The lines of one table, parsed in a worker thread, in order. `bytes` is how far into the file the worker
 * has read. Throws WorkerReadError when the file cannot be read to its end.
 */
export async function * readTableInWorker (file: string, kind: 'zip' | 'directory', entry: string): AsyncGenerator<LineBatch> {
  const worker = new Worker(source, {
    eval: true,
    // The worker needs no loaders: it is plain CommonJS.
    execArgv: [],
    // A young generation larger than a worker's default: a batch's lines, documents and messages are short-lived,
    // and fewer scavenges cut the import's CPU by about a tenth (bench:import).
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    workerData: { file, kind, entry, yauzlPath, window: 4, batchDocs: 256, batchBytes: 4 << 20 }
  })
  const queue: Reply[] = []
  let notify: (() => void) | null = null
  let failure: Error | null = null
  worker.on('message', (m: Reply) => { queue.push(m); notify?.() })
  worker.on('error', (err) => { failure = err; notify?.() })
  worker.on('exit', (code) => { if (code !== 0 && failure === null) failure = new Error(`the reading worker exited with code ${code}`); notify?.() })
  try {
    for (;;) {
      if (queue.length === 0) {
        if (failure !== null) throw new WorkerReadError((failure as Error).message, 0)
        await new Promise<void>((resolve) => { notify = resolve })
        notify = null
        continue
      }
      const reply = queue.shift()!
      if ('done' in reply) return
      if ('failed' in reply) throw new WorkerReadError(reply.failed, reply.line)
      yield reply
      worker.postMessage('ack')
    }
  } finally {
    await worker.terminate()
  }
}
