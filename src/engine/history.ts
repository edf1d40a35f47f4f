// A world's history as one store-neutral file (gzip'd JSON lines, the codec backups use): what
// `townhall world replay` needs to rebuild the world in another deployment — its document, engine, map,
// descriptions, snapshots, the inputs from the oldest kept snapshot on — and its messages. The first line names
// the world and the step range, the last holds each part's count and checksum; import checks all of it first.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { CollectionName } from '../store/collections.ts'
import { encodeDoc } from '../store/codec.ts'
import type { Doc, Filter, Store } from '../store/types.ts'
import { CollectionChecksum, type Checksum } from '../transfer/checksum.ts'
import { batchInserter, readGzipLines, writeGzipLines } from '../transfer/gzipLines.ts'
import type { EngineDoc, WorldStatusDoc } from './types.ts'
import type { StoredWorldDoc } from './worldDoc.ts'
import { listSnapshots, type StepLog } from './snapshots.ts'

export const HISTORY_FORMAT = 'townhall-history'
export const HISTORY_VERSION = 1

/** What the file holds, in the order it is written and imported: the world document and its status come last. */
export const HISTORY_PARTS = [
  'engines', 'maps', 'playerDescriptions', 'agentDescriptions', 'archivedPlayers', 'archivedAgents',
  'archivedConversations', 'participatedTogether', 'messages', 'inputs', 'snapshots', 'worlds', 'worldStatus'
] as const satisfies readonly CollectionName[]
export type HistoryPart = typeof HISTORY_PARTS[number]
const ONE_EACH: ReadonlySet<HistoryPart> = new Set(['engines', 'maps', 'worlds', 'worldStatus'])

export interface HistoryHeader {
  format: typeof HISTORY_FORMAT
  version: number
  townhall: string
  created: number
  worldId: string
  engineId: string
  /** The oldest kept snapshot's step and the committed step: the range a replay can cover. */
  steps: { from: number, to: number }
}

export interface HistoryTrailer { end: true, parts: Record<string, Checksum> }

export interface HistoryProgress { part: HistoryPart, documents: number }

/** Not a history file, or a damaged one; the message names what is wrong. Nothing was written. */
export class HistoryFileError extends Error {
  override name = 'HistoryFileError'
}

/** An unknown world, or one with nothing to export yet. */
export class HistoryWorldNotFoundError extends Error {
  override name = 'HistoryWorldNotFoundError'
  readonly code = 'TOWNHALL_ERR_WORLD_NOT_FOUND'
  readonly statusCode = 404
}

/** The file's world is already in this deployment. */
export class HistoryConflictError extends Error {
  override name = 'HistoryConflictError'
  readonly code = 'TOWNHALL_ERR_WORLD_EXISTS'
  readonly statusCode = 409
}

function townhallVersion (): string {
  // From src/engine in a checkout, from dist/src/engine in a build.
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'townhall' && typeof pkg.version === 'string') return pkg.version
    } catch { /* try the next */ }
  }
  return 'unknown'
}

/** The filter that selects a part's documents of one world. */
function partFilter (part: HistoryPart, worldId: string, engineId: string, fromInput: number): Filter {
  switch (part) {
    case 'worlds': return { _id: worldId }
    case 'engines': return { _id: engineId }
    case 'inputs': return { engineId, number: { $gt: fromInput } }
    default: return { worldId }
  }
}

export interface ExportHistoryReport {
  file: string
  header: HistoryHeader
  parts: Record<HistoryPart, Checksum>
  bytes: number
  elapsedMs: number
}

/** Writes the world's history to `out` (through `out.partial`, renamed when complete). */
export async function exportHistory (store: Store, worldId: string, out: string, options: { now?: () => number, onProgress?: (p: HistoryProgress) => void } = {}): Promise<ExportHistoryReport> {
  const now = options.now ?? Date.now
  const started = performance.now()
  const status = await store.collection<WorldStatusDoc>('worldStatus').findOne({ worldId })
  if (status === null) throw new HistoryWorldNotFoundError(`no world ${worldId} (see townhall world list)`)
  const parts = {} as Record<HistoryPart, Checksum>
  let header: HistoryHeader | undefined
  const bytes = await writeGzipLines(store, out, async (write) => {
    // The world first, then its snapshots (as replay reads them): a snapshot taken meanwhile holds the step records it moved.
    const world = await store.collection<StoredWorldDoc>('worlds').findOne({ _id: worldId })
    const snapshots = await listSnapshots(store, worldId)
    if (world === null) throw new HistoryWorldNotFoundError(`world ${worldId} has no world document (it is being created or deleted)`)
    if (snapshots.length === 0) throw new HistoryWorldNotFoundError(`world ${worldId} has no snapshots: a history starts at one (SNAPSHOT_EVERY_STEPS, or townhall world snapshot ${worldId})`)
    header = {
      format: HISTORY_FORMAT,
      version: HISTORY_VERSION,
      townhall: townhallVersion(),
      created: now(),
      worldId,
      engineId: status.engineId,
      steps: { from: snapshots[0]!.step, to: world.step.number }
    }
    await write(`${JSON.stringify(header)}\n`)
    for (const part of HISTORY_PARTS) {
      const sum = new CollectionChecksum()
      const prefix = `{"p":${JSON.stringify(part)},"d":`
      const docs = part === 'worlds'
        ? [world]
        : part === 'snapshots' ? snapshots : store.collection(part).iterate(partFilter(part, worldId, status.engineId, snapshots[0]!.processedInputNumber), { sort: { _id: 1 }, batchSize: 1000 })
      for await (const doc of docs) {
        sum.add(doc)
        await write(`${prefix}${encodeDoc(doc)}}\n`)
      }
      parts[part] = sum.result()
      options.onProgress?.({ part, documents: parts[part].documents })
    }
    const trailer: HistoryTrailer = { end: true, parts }
    await write(`${JSON.stringify(trailer)}\n`)
  })
  return { file: out, header: header!, parts, bytes, elapsedMs: performance.now() - started }
}

interface HistoryLine { p: HistoryPart, d: Doc }

const PART_NAMES: ReadonlySet<string> = new Set(HISTORY_PARTS)

/** Reads a history file line by line, checking its header and each line's shape; returns the header and trailer. */
async function readHistory (file: string, each: (line: HistoryLine, header: HistoryHeader, number: number) => Promise<void> | void): Promise<{ header: HistoryHeader, trailer: HistoryTrailer }> {
  let header: HistoryHeader | null = null
  let trailer: HistoryTrailer | null = null
  const damaged = (number: number, what: string): HistoryFileError => new HistoryFileError(`${file}: line ${number}: ${what}`)
  const lineNo = await readGzipLines(file, HistoryFileError, async (value, number) => {
    if (trailer !== null) throw damaged(number, 'data after the end marker')
    if (header === null) {
      const h = value as Partial<HistoryHeader>
      if (h.format !== HISTORY_FORMAT) throw new HistoryFileError(`${file}: not a townhall world history (line 1 has no "format":"${HISTORY_FORMAT}")`)
      if (h.version !== HISTORY_VERSION) throw new HistoryFileError(`${file}: history version ${String(h.version)}; this townhall reads version ${HISTORY_VERSION}`)
      if (typeof h.worldId !== 'string' || typeof h.engineId !== 'string' || typeof h.steps?.from !== 'number' || typeof h.steps.to !== 'number') throw damaged(number, 'the header lacks worldId, engineId or steps')
      header = h as HistoryHeader
      return
    }
    const v = value as Partial<HistoryLine> & Partial<HistoryTrailer>
    if (v.end === true) {
      if (v.parts === null || typeof v.parts !== 'object') throw damaged(number, 'the end marker lacks the parts\' counts and checksums')
      trailer = v as HistoryTrailer
      return
    }
    if (typeof v.p !== 'string' || !PART_NAMES.has(v.p) || v.d === null || typeof v.d !== 'object' || typeof (v.d as Doc)._id !== 'string') {
      throw damaged(number, 'not a document line of a known part')
    }
    await each(v as HistoryLine, header, number)
  })
  if (header === null) throw new HistoryFileError(`${file}: empty or not a townhall world history`)
  if (trailer === null) throw new HistoryFileError(`${file}: no end marker after line ${lineNo}: the file is truncated`)
  return { header, trailer }
}

/** Whether a document of a part is the header's world's. */
function belongs (part: HistoryPart, d: Doc, header: HistoryHeader): boolean {
  switch (part) {
    case 'worlds': return d._id === header.worldId && d.engineId === header.engineId
    case 'engines': return d._id === header.engineId && d.worldId === header.worldId
    case 'inputs': return d.engineId === header.engineId
    case 'worldStatus': return d.worldId === header.worldId && d.engineId === header.engineId
    default: return d.worldId === header.worldId
  }
}

interface SnapshotFacts { step: number, processedInputNumber: number, steps: StepLog }

/** What the check pass keeps: counts and checksums, the one-of-each documents, and what replay will need. */
class HistoryCheck {
  readonly sums = new Map<HistoryPart, CollectionChecksum>()
  readonly ids = new Map<HistoryPart, Set<string>>()
  readonly single = new Map<HistoryPart, Doc>()
  readonly snapshots: SnapshotFacts[] = []
  readonly inputNumbers = new Set<number>()

  constructor (readonly file: string) {}

  add ({ p, d }: HistoryLine, header: HistoryHeader, line: number): void {
    const bad = (what: string): HistoryFileError => new HistoryFileError(`${this.file}: line ${line}: ${p} ${d._id}: ${what}`)
    let sum = this.sums.get(p)
    if (sum === undefined) this.sums.set(p, sum = new CollectionChecksum())
    sum.add(d)
    let ids = this.ids.get(p)
    if (ids === undefined) this.ids.set(p, ids = new Set())
    if (ids.has(d._id)) throw bad('appears twice')
    ids.add(d._id)
    if (ONE_EACH.has(p)) {
      if (this.single.has(p)) throw bad(`a second ${p} document (a history holds one world)`)
      this.single.set(p, d)
    }
    if (!belongs(p, d, header)) throw bad(`belongs to another world than ${header.worldId}`)
    if (p === 'inputs') {
      if (!Number.isSafeInteger(d.number) || typeof d.name !== 'string') throw bad('an input needs a whole number and a name')
      this.inputNumbers.add(d.number as number)
    }
    if (p === 'snapshots') {
      const s = d as Partial<SnapshotFacts> & { state?: unknown }
      if (!Number.isSafeInteger(s.step) || !Number.isSafeInteger(s.processedInputNumber) || s.state === null || typeof s.state !== 'object' || s.steps === null || typeof s.steps !== 'object') {
        throw bad('a snapshot needs step, processedInputNumber, state and steps')
      }
      this.snapshots.push({ step: s.step!, processedInputNumber: s.processedInputNumber!, steps: s.steps! })
    }
    if (p === 'worlds') {
      const step = (d as Partial<StoredWorldDoc>).step
      if (step === null || typeof step !== 'object' || !Number.isSafeInteger(step.number) || !Number.isSafeInteger(step.processedInputNumber)) throw bad('the world document needs its step')
    }
  }

  /** Throws HistoryFileError for the first damage: a count or checksum, a missing part, a gap replay would hit. */
  finish (header: HistoryHeader, trailer: HistoryTrailer): void {
    const file = this.file
    for (const part of HISTORY_PARTS) {
      const expected = trailer.parts[part]
      const actual = this.sums.get(part)?.result() ?? new CollectionChecksum().result()
      if (expected === undefined) throw new HistoryFileError(`${file}: the end marker has no count for ${part}: the file is damaged`)
      if (expected.documents !== actual.documents || expected.checksum !== actual.checksum) {
        throw new HistoryFileError(`${file}: ${part} holds ${actual.documents} documents with checksum ${actual.checksum}, the end marker says ${expected.documents} with ${expected.checksum}: the file is damaged`)
      }
    }
    for (const part of ONE_EACH) if (!this.single.has(part)) throw new HistoryFileError(`${file}: no ${part} document: a history needs the world's ${part === 'worlds' ? 'document' : part.replace(/s$/, '')}`)
    if (this.snapshots.length === 0) throw new HistoryFileError(`${file}: no snapshots: a replay starts at one`)
    const snapshots = [...this.snapshots].sort((a, b) => a.step - b.step)
    const oldest = snapshots[0]!
    const world = this.single.get('worlds') as unknown as StoredWorldDoc
    if (oldest.step !== header.steps.from || world.step.number !== header.steps.to) {
      throw new HistoryFileError(`${file}: the header's steps ${header.steps.from} to ${header.steps.to} do not match the snapshots and the world (${oldest.step} to ${world.step.number})`)
    }
    const records: StepLog = {}
    for (const s of snapshots) Object.assign(records, s.steps)
    Object.assign(records, world.stepLog ?? {})
    for (let n = oldest.step + 1; n <= world.step.number; n++) {
      if (records[n] === undefined) throw new HistoryFileError(`${file}: step ${n} has no step record: replay from step ${oldest.step} cannot reach the committed step ${world.step.number}`)
    }
    for (let n = oldest.processedInputNumber + 1; n <= world.step.processedInputNumber; n++) {
      if (!this.inputNumbers.has(n)) throw new HistoryFileError(`${file}: input ${n} is missing: the steps after the snapshot at step ${oldest.step} consumed inputs ${oldest.processedInputNumber + 1} to ${world.step.processedInputNumber}`)
    }
  }
}

export interface ImportHistoryReport {
  file: string
  header: HistoryHeader
  worldId: string
  parts: Record<HistoryPart, Checksum & { written: number }>
  documents: number
  elapsedMs: number
}

/**
 * Loads a history file into this deployment as an archived world under its own ids. The whole file is checked
 * first (header, every line, counts and checksums, the step records and inputs the snapshots need) and nothing
 * is written when anything is wrong; the world's status goes last, so a rerun after a crash completes the rest.
 */
export async function importHistory (store: Store, file: string, options: { now: number, onProgress?: (p: HistoryProgress & { phase: 'check' | 'write' }) => void, batchSize?: number }): Promise<ImportHistoryReport> {
  const started = performance.now()
  const check = new HistoryCheck(file)
  let checked = 0
  const { header, trailer } = await readHistory(file, (line, h, number) => {
    check.add(line, h, number)
    if (++checked % 5000 === 0) options.onProgress?.({ phase: 'check', part: line.p, documents: checked })
  })
  check.finish(header, trailer)
  const { worldId, engineId } = header
  const present = await store.collection<WorldStatusDoc>('worldStatus').findOne({ worldId }) ??
    await store.collection<WorldStatusDoc>('worldStatus').findOne({ engineId })
  if (present !== null) throw new HistoryConflictError(`world ${present.worldId} already exists in ${store.describe()} (status ${present.status}): delete it first to import its history again`)

  const parts = {} as ImportHistoryReport['parts']
  for (const part of HISTORY_PARTS) parts[part] = { ...check.sums.get(part)?.result() ?? new CollectionChecksum().result(), written: 0 }
  let documents = 0
  let last: HistoryPart | null = null
  const written = (part: HistoryPart): void => { options.onProgress?.({ phase: 'write', part, documents: parts[part].written }) }
  const inserter = batchInserter(store, options.batchSize ?? 500, (part, inserted) => { parts[part as HistoryPart].written += inserted })
  await readHistory(file, async ({ p, d }) => {
    if (last !== null && p !== last) {
      await inserter.flush()
      written(last)
    }
    last = p
    await inserter.add(p, archived(p, d, options.now))
    documents++
  })
  await inserter.flush()
  // The callback above assigned it (the compiler cannot see that).
  const final = last as HistoryPart | null
  if (final !== null) written(final)
  return { file, header, worldId, parts, documents, elapsedMs: performance.now() - started }
}

/** A document as the importing deployment keeps it: the world archived and its engine stopped, never the default. */
function archived (part: HistoryPart, doc: Doc, now: number): Doc {
  if (part === 'engines') return { ...doc, running: false, runner: null } satisfies Partial<EngineDoc>
  if (part !== 'worldStatus') return doc
  // The status's own id is this deployment's (the default world's is fixed); the world keeps its ids.
  return { ...doc, _id: randomUUID(), _creationTime: now, isDefault: false, status: 'archived', importedAt: now }
}
