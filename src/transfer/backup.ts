// `townhall backup <file>` / `townhall restore <file>`: every collection as gzip'd JSON lines, store-neutral
// (a backup of the embedded store restores into MongoDB and back). The file ends with each collection's
// count and checksum; restore checks the whole file against them before it writes anything.
import { collectionNames, isCollectionName, type CollectionName } from '../store/collections.ts'
import { encodeDoc } from '../store/codec.ts'
import type { Doc, Store } from '../store/types.ts'
import { CollectionChecksum, type Checksum } from './checksum.ts'
import { batchInserter, readGzipLines, writeGzipLines } from './gzipLines.ts'

export const BACKUP_FORMAT = 'townhall-backup'
export const BACKUP_VERSION = 1

/** The world (the engine's commit point) first: what the engine writes meanwhile is then newer, never missing. */
const BACKUP_ORDER: CollectionName[] = ['worlds', 'engines', 'worldStatus', ...collectionNames.filter((n) => !['worlds', 'engines', 'worldStatus'].includes(n))]

/** The embeddings cache survives a wipe; restore merges into it instead of requiring it empty. */
const MERGED: ReadonlySet<CollectionName> = new Set(['embeddingsCache'])

export interface BackupProgress { collection: CollectionName, documents: number, elapsedMs: number }

export interface BackupReport {
  file: string
  store: string
  /** True when the store read every collection from one snapshot. */
  snapshot: boolean
  collections: Record<CollectionName, Checksum>
  documents: number
  bytes: number
  elapsedMs: number
}

export class BackupFileError extends Error {
  override name = 'BackupFileError'
}

interface Header { format: string, version: number, created: number, store: string, snapshot: boolean }
interface Trailer { end: true, collections: Record<string, Checksum> }

export async function backupStore (store: Store, file: string, options: { onProgress?: (p: BackupProgress) => void, now?: () => number } = {}): Promise<BackupReport> {
  const now = options.now ?? Date.now
  const started = now()
  const collections = {} as Record<CollectionName, Checksum>
  let documents = 0
  const snapshot = store.readSnapshot !== undefined
  const bytes = await writeGzipLines(store, file, async (write) => {
    const header: Header = { format: BACKUP_FORMAT, version: BACKUP_VERSION, created: started, store: store.kind, snapshot }
    await write(`${JSON.stringify(header)}\n`)
    for (const name of BACKUP_ORDER) {
      const sum = new CollectionChecksum()
      const prefix = `{"c":${JSON.stringify(name)},"d":`
      for await (const doc of store.collection(name).iterate({}, { batchSize: 1000 })) {
        sum.add(doc)
        await write(`${prefix}${encodeDoc(doc)}}\n`)
        documents++
        if (documents % 5000 === 0) options.onProgress?.({ collection: name, documents, elapsedMs: now() - started })
      }
      collections[name] = sum.result()
    }
    const trailer: Trailer = { end: true, collections }
    await write(`${JSON.stringify(trailer)}\n`)
  })
  return { file, store: store.describe(), snapshot, collections, documents, bytes, elapsedMs: now() - started }
}

interface BackupLine { c: CollectionName, d: Doc }

/** Reads a backup file line by line, checking its header and shape; the trailer is returned at the end. */
async function readBackup (file: string, each: (line: BackupLine, number: number) => Promise<void> | void): Promise<Trailer> {
  let header: Header | null = null
  let trailer: Trailer | null = null
  const lineNo = await readGzipLines(file, BackupFileError, async (value, number) => {
    if (trailer !== null) throw new BackupFileError(`${file}: line ${number}: data after the end marker`)
    if (header === null) {
      const h = value as Partial<Header>
      if (h.format !== BACKUP_FORMAT) throw new BackupFileError(`${file}: not a townhall backup (line 1 has no "format":"${BACKUP_FORMAT}")`)
      if (h.version !== BACKUP_VERSION) throw new BackupFileError(`${file}: backup version ${String(h.version)}; this townhall reads version ${BACKUP_VERSION}`)
      header = h as Header
      return
    }
    const v = value as Partial<BackupLine> & Partial<Trailer>
    if (v.end === true) {
      trailer = v as Trailer
      return
    }
    if (typeof v.c !== 'string' || !isCollectionName(v.c) || v.d === null || typeof v.d !== 'object' || typeof (v.d as Doc)._id !== 'string') {
      throw new BackupFileError(`${file}: line ${number}: not a document line of a known collection`)
    }
    await each(v as BackupLine, number)
  })
  if (header === null) throw new BackupFileError(`${file}: empty`)
  if (trailer === null) throw new BackupFileError(`${file}: no end marker after line ${lineNo}: the backup is truncated`)
  return trailer
}

export interface RestoreReport {
  file: string
  store: string
  collections: Record<CollectionName, Checksum & { restored: number, present: number }>
  documents: number
  elapsedMs: number
}

/**
 * Restores a backup into an empty deployment (the embeddings cache may hold entries: they are merged).
 * The file is checked in full first (every line, every count and checksum), so a damaged file writes nothing.
 */
export async function restoreStore (store: Store, file: string, options: { onProgress?: (p: BackupProgress & { phase: 'check' | 'restore' }) => void, now?: () => number, batchSize?: number } = {}): Promise<RestoreReport> {
  const now = options.now ?? Date.now
  const started = now()
  const sums = new Map<CollectionName, CollectionChecksum>()
  let checked = 0
  const trailer = await readBackup(file, ({ c, d }) => {
    let sum = sums.get(c)
    if (sum === undefined) sums.set(c, sum = new CollectionChecksum())
    sum.add(d)
    if (++checked % 5000 === 0) options.onProgress?.({ phase: 'check', collection: c, documents: checked, elapsedMs: now() - started })
  })
  for (const name of collectionNames) {
    const expected = trailer.collections[name] ?? { documents: 0, checksum: new CollectionChecksum().result().checksum }
    const actual = sums.get(name)?.result() ?? new CollectionChecksum().result()
    if (expected.documents !== actual.documents || expected.checksum !== actual.checksum) {
      throw new BackupFileError(`${file}: ${name} holds ${actual.documents} documents with checksum ${actual.checksum}, its end marker says ${expected.documents} with ${expected.checksum}: the file is damaged`)
    }
  }
  const occupied: string[] = []
  for (const name of collectionNames) {
    if (MERGED.has(name)) continue
    const count = await store.collection(name).count()
    if (count > 0) occupied.push(`${name} (${count})`)
  }
  if (occupied.length > 0) {
    throw new BackupFileError(`restore goes into an empty deployment, but ${store.describe()} holds documents in ${occupied.join(', ')}: run \`townhall wipe --yes\` first`)
  }

  const collections = {} as RestoreReport['collections']
  for (const name of collectionNames) collections[name] = { ...sums.get(name)?.result() ?? new CollectionChecksum().result(), restored: 0, present: 0 }
  let documents = 0
  const inserter = batchInserter(store, options.batchSize ?? 500, (name, inserted, offered) => {
    collections[name].restored += inserted
    collections[name].present += offered - inserted
  })
  await readBackup(file, async ({ c, d }) => {
    await inserter.add(c, d)
    if (++documents % 5000 === 0) options.onProgress?.({ phase: 'restore', collection: c, documents, elapsedMs: now() - started })
  })
  await inserter.flush()
  return { file, store: store.describe(), collections, documents, elapsedMs: now() - started }
}
