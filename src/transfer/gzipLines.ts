// Gzip'd JSON-lines files (backups, world histories): written through `<file>.partial`, renamed once complete,
// from one consistent read snapshot where the store offers that; read back into the store in batches.
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { PassThrough } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import { decodeDoc } from '../store/codec.ts'
import { readLines } from './exportSource.ts'
import type { CollectionName } from '../store/collections.ts'
import type { Doc, Store } from '../store/types.ts'

/** Runs `dump` with a `write` for the file's text (within the store's read snapshot, if any); returns the bytes written. */
export async function writeGzipLines (store: Store, file: string, dump: (write: (text: string) => Promise<void>) => Promise<void>): Promise<number> {
  const partial = `${file}.partial`
  const out = new PassThrough({ highWaterMark: 1 << 20 })
  const sink = createWriteStream(partial)
  const piping = pipeline(out, createGzip({ level: 6 }), sink)
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await once(out, 'drain')
  }
  try {
    if (store.readSnapshot !== undefined) await store.readSnapshot(async () => { await dump(write) })
    else await dump(write)
    out.end()
    await piping
    await rename(partial, file)
  } catch (err) {
    out.destroy()
    await piping.catch(() => {})
    await rm(partial, { force: true })
    throw err
  }
  return sink.bytesWritten
}

/** Inserts documents read in order in batches of one collection each, skipping those already stored (a rerun). */
export function batchInserter (store: Store, batchSize: number, onFlush: (collection: CollectionName, inserted: number, offered: number) => void): { add: (collection: CollectionName, doc: Doc) => Promise<void>, flush: () => Promise<void> } {
  let batch: Doc[] = []
  let current: CollectionName | null = null
  const flush = async (): Promise<void> => {
    if (current === null || batch.length === 0) return
    const { inserted } = await store.collection(current).insertMany(batch, { ignoreDuplicates: true })
    onFlush(current, inserted, batch.length)
    batch = []
  }
  return {
    async add (collection, doc) {
      if (collection !== current || batch.length >= batchSize) {
        await flush()
        current = collection
      }
      batch.push(doc)
    },
    flush
  }
}

/**
 * Reads a gzip'd JSON-lines file, handing each decoded line to `each`; returns the last line's number. A line
 * cut short, bad JSON, or an unreadable or damaged file is a `Fail` error naming the file and line.
 */
export async function readGzipLines (file: string, Fail: new (message: string) => Error, each: (value: unknown, number: number) => Promise<void> | void): Promise<number> {
  const input = createReadStream(file)
  const gunzip = createGunzip()
  input.on('error', (err) => gunzip.destroy(err))
  input.pipe(gunzip)
  let lineNo = 0
  try {
    for await (const { line, number, terminated } of readLines(gunzip)) {
      lineNo = number
      if (line === '') continue
      if (!terminated) throw new Fail(`${file}: line ${number}: cut short: the file is truncated`)
      let value: unknown
      try {
        value = decodeDoc(line)
      } catch (err) {
        throw new Fail(`${file}: line ${number}: not valid JSON (${(err as Error).message})`)
      }
      await each(value, number)
    }
  } catch (err) {
    if (err instanceof Fail) throw err
    throw new Fail(`${file}: unreadable after line ${lineNo}: ${(err as Error).message} (the file is truncated or damaged)`)
  } finally {
    input.destroy()
  }
  return lineNo
}
