// `townhall import-convex`: streams an AI Town Convex export into the store, table by table in dependency
// order, in batches; idempotent (documents keep their Convex _id, so a second run finds them present);
// every document it does not import is counted with its reason, and the first few are named by file and line.
import type { CollectionName } from '../store/collections.ts'
import type { Doc, Store } from '../store/types.ts'
import type { WorldStatusDoc } from '../engine/types.ts'
import { CollectionChecksum, type Checksum } from './checksum.ts'
import { exportDocument, ExportValueError } from './convexValue.ts'
import { parseTableLines, readTableInWorker } from './lineWorker.ts'
import { mappingByTable, tableMappings, type ConvexDoc, type MapContext, type TableMapping } from './convexTables.ts'
import { openExportSource, ExportSourceError, type ExportSource } from './exportSource.ts'

export interface ImportProgress {
  table: string
  /** Documents read so far, over all tables. */
  documents: number
  /** Uncompressed bytes of documents.jsonl read so far, and in all. */
  bytes: number
  totalBytes: number
  elapsedMs: number
}

export interface ImportOptions {
  store: Store
  /** EMBEDDING_DIMENSION: embeddings of any other length are skipped. */
  dimension: number
  /** The embeddings cache's model key for the imported vectors (`model#dimension`). */
  embeddingModel: string
  dryRun?: boolean
  /** Documents per write. */
  batchSize?: number
  /** Tables at least this large (uncompressed bytes) are read and parsed in a worker thread (default 8 MiB). */
  workerMinBytes?: number
  onProgress?: (progress: ImportProgress) => void
  now?: () => number
}

/** One line of the report about a document or file that was not imported. */
export interface ReportLine {
  file: string
  line?: number
  message: string
}

export interface TableReport {
  table: string
  file: string
  collection: CollectionName | null
  format: 'uniform' | 'legacy'
  read: number
  imported: number
  /** Already in the store (a previous run imported them). */
  present: number
  skipped: number
  reasons: Record<string, number>
  /** Harmless duplicates inside the export, dropped (not skips): see `notes`. */
  duplicates: number
}

export interface ImportReport {
  source: string
  dryRun: boolean
  tables: TableReport[]
  /** Per collection: the documents this export maps to and their checksum (compare with validate-import). */
  collections: Partial<Record<CollectionName, Checksum>>
  problems: ReportLine[]
  notes: string[]
  totals: { read: number, imported: number, present: number, skipped: number }
  /** False when the export could not be read to its end. */
  complete: boolean
  elapsedMs: number
  documentsPerSecond: number
}

const DEFAULT_STATUS_ID = 'default'
/** Tables at least this large (uncompressed) are read in a worker thread. */
const WORKER_MIN_BYTES = 8 << 20
const PROBLEMS_PER_REASON = 5

class ReportBuilder {
  readonly problems: ReportLine[] = []
  readonly notes: string[] = []
  readonly tables: TableReport[] = []
  readonly #shown = new Map<string, number>()
  complete = true

  note (text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text)
  }

  /** Records a problem line; after a few of the same reason in one file, only counts. */
  problem (line: ReportLine, reason = line.message): void {
    const key = `${line.file}\u0000${reason}`
    const shown = this.#shown.get(key) ?? 0
    this.#shown.set(key, shown + 1)
    if (shown < PROBLEMS_PER_REASON) this.problems.push(line)
  }

  /** Adds "... and N more" lines for reasons that were cut short. */
  finish (): void {
    for (const [key, count] of this.#shown) {
      if (count <= PROBLEMS_PER_REASON) continue
      const [file, reason] = key.split('\u0000')
      this.problems.push({ file: file!, message: `${count - PROBLEMS_PER_REASON} more lines: ${reason}` })
    }
  }
}

interface ExportTable { name: string, file: string, size: number, format: 'uniform' | 'legacy' }

async function readText (source: ExportSource, name: string): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of await source.open(name) as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

/** The export's user tables: from _tables/documents.jsonl, checked against the files that are there. */
async function listTables (source: ExportSource, report: ReportBuilder): Promise<ExportTable[]> {
  const names: string[] = []
  const tablesFile = '_tables/documents.jsonl'
  if (source.entries.has(tablesFile)) {
    let n = 0
    for (const line of (await readText(source, tablesFile)).split('\n')) {
      n++
      if (line === '') continue
      try {
        const row = JSON.parse(line) as { name?: unknown }
        if (typeof row.name !== 'string') throw new Error('no table name')
        names.push(row.name)
      } catch (err) {
        report.problem({ file: tablesFile, line: n, message: `not a table line: ${(err as Error).message}` })
      }
    }
  } else {
    report.problem({ file: tablesFile, message: 'missing: this is not a complete Convex export; tables are taken from the folders present' })
  }
  for (const entry of source.entries.keys()) {
    const match = /^([^/]+)\/documents\.jsonl$/.exec(entry)
    if (match !== null && !match[1]!.startsWith('_') && !names.includes(match[1]!)) {
      if (source.entries.has(tablesFile)) report.problem({ file: entry, message: 'this table is not listed in _tables/documents.jsonl' })
      names.push(match[1]!)
    }
    if (entry.startsWith('_components/')) report.note('tables of Convex components (_components/) are not imported: AI Town has none')
    if (entry.startsWith('_storage/')) report.note('file storage (_storage/) is not imported: townhall keeps no files')
  }
  const tables: ExportTable[] = []
  for (const name of names) {
    const file = `${name}/documents.jsonl`
    const entry = source.entries.get(file)
    if (entry === undefined) {
      report.problem({ file, message: 'missing: the table is listed in _tables/documents.jsonl but its documents are not in the export' })
      report.complete = false
      continue
    }
    let format: 'uniform' | 'legacy' = 'uniform'
    const schemaFile = `${name}/generated_schema.jsonl`
    if (source.entries.has(schemaFile)) {
      const first = (await readText(source, schemaFile)).split('\n')[0]
      if (first !== '"uniform"' && first !== '') format = 'legacy'
    }
    tables.push({ name, file, size: entry.size, format })
  }
  return tables
}

export async function importConvexExport (path: string, options: ImportOptions): Promise<ImportReport> {
  const now = options.now ?? Date.now
  const started = now()
  const report = new ReportBuilder()
  const checksums = new Map<CollectionName, CollectionChecksum>()
  const totals = { read: 0, imported: 0, present: 0, skipped: 0 }
  const finish = (): ImportReport => {
    report.finish()
    const elapsedMs = now() - started
    return {
      source: path,
      dryRun: options.dryRun === true,
      tables: report.tables,
      collections: Object.fromEntries([...checksums].map(([name, c]) => [name, c.result()])),
      problems: report.problems,
      notes: report.notes,
      totals,
      complete: report.complete,
      elapsedMs,
      documentsPerSecond: elapsedMs > 0 ? Math.round(totals.read / (elapsedMs / 1000)) : totals.read
    }
  }

  let source: ExportSource
  try {
    source = await openExportSource(path)
  } catch (err) {
    if (!(err instanceof ExportSourceError)) throw err
    report.problem({ file: path, message: err.message })
    report.complete = false
    return finish()
  }
  try {
    const tables = await listTables(source, report)
    const totalBytes = tables.reduce((sum, t) => sum + t.size, 0)
    /** Bytes read per table (more than one table can be under way). */
    const bytesRead = new Map<string, number>()
    let seen = 0
    let lastProgress = 0
    const progress = (table: string, bytes: number, force = false): void => {
      bytesRead.set(table, bytes)
      const t = now()
      if (!force && t - lastProgress < 250) return
      lastProgress = t
      let sum = 0
      for (const b of bytesRead.values()) sum += b
      options.onProgress?.({ table, documents: seen, bytes: sum, totalBytes, elapsedMs: t - started })
    }

    const ctx: MapContext = {
      dimension: options.dimension,
      embeddingModel: options.embeddingModel,
      statusByWorld: new Map(),
      engines: new Map(),
      playerDescriptions: new Map(),
      agentDescriptions: new Map(),
      defaultStatusId: null,
      skippedEmbeddings: new Set(),
      cacheKeys: new Set(),
      onlyWorldId: null,
      note: (text) => { report.note(text) }
    }
    const byName = new Map(tables.map((t) => [t.name, t]))

    /** Streams one table's documents through `each`; bad lines are reported and skipped. */
    const readTable = async (table: ExportTable, each: (doc: ConvexDoc, line: number) => Promise<void> | void): Promise<{ read: number, bad: number }> => {
      const float64Field = mappingByTable.get(table.name)?.float64Field
      let read = 0
      let bad = 0
      const cutShort = (number: number): void => {
        bad++
        report.problem({ file: table.file, line: number, message: 'the last line is cut short (no newline): the export is truncated' }, 'truncated')
        report.complete = false
      }
      const badLine = (number: number, message: string): void => {
        bad++
        report.problem({ file: table.file, line: number, message })
      }
      try {
        // Big tables (embeddings) are inflated and parsed in a worker thread while this one maps and writes.
        const batches = table.size >= (options.workerMinBytes ?? WORKER_MIN_BYTES)
          ? readTableInWorker(source.path, source.kind, table.file)
          : parseTableLines(await source.open(table.file))
        for await (const batch of batches) {
          for (const item of batch.items) {
            read++
            seen++
            if ('cut' in item) { cutShort(item.n); continue }
            if ('error' in item) { badLine(item.n, item.error); continue }
            let doc: ConvexDoc
            try {
              doc = exportDocument(item.doc, float64Field)
            } catch (err) {
              if (!(err instanceof ExportValueError)) throw err
              badLine(item.n, err.message)
              continue
            }
            await each(doc, item.n)
          }
          progress(table.name, batch.bytes)
        }
      } catch (err) {
        // A broken entry (bad deflate data, CRC mismatch, a file cut short) ends this table.
        report.problem({ file: table.file, line: read + 1, message: `could not be read to its end: ${(err as Error).message}` })
        report.complete = false
      }
      return { read, bad }
    }

    // The small tables the others refer to, read in full first.
    const preloaded = new Map<string, Array<{ doc: ConvexDoc, line: number }>>()
    const preloadedBad = new Map<string, number>()
    for (const mapping of tableMappings.filter((m) => m.preload === true)) {
      const table = byName.get(mapping.table)
      if (table === undefined) continue
      const rows: Array<{ doc: ConvexDoc, line: number }> = []
      const { bad } = await readTable(table, (doc, line) => { rows.push({ doc, line }) })
      preloaded.set(mapping.table, rows)
      preloadedBad.set(mapping.table, bad)
    }
    for (const { doc } of preloaded.get('worldStatus') ?? []) {
      if (typeof doc.worldId === 'string' && typeof doc.engineId === 'string') ctx.statusByWorld.set(doc.worldId, { engineId: doc.engineId, storedId: doc._id })
    }
    for (const { doc } of preloaded.get('engines') ?? []) ctx.engines.set(doc._id, doc)
    for (const [tableName, target, key] of [['playerDescriptions', ctx.playerDescriptions, 'playerId'], ['agentDescriptions', ctx.agentDescriptions, 'agentId']] as const) {
      for (const { doc } of preloaded.get(tableName) ?? []) {
        if (typeof doc.worldId !== 'string') continue
        let perWorld = target.get(doc.worldId)
        if (perWorld === undefined) target.set(doc.worldId, perWorld = new Map())
        perWorld.set(doc[key] as string, doc)
      }
    }
    if (ctx.statusByWorld.size === 1) ctx.onlyWorldId = [...ctx.statusByWorld.keys()][0]!
    // The export's default world becomes townhall's default unless the store already has another one.
    const exportDefault = (preloaded.get('worldStatus') ?? []).find(({ doc }) => doc.isDefault === true)?.doc
    if (exportDefault !== undefined) {
      const existing = await options.store.collection<WorldStatusDoc>('worldStatus').findOne({ _id: DEFAULT_STATUS_ID })
      if (existing === null || existing.worldId === exportDefault.worldId) {
        ctx.defaultStatusId = exportDefault._id
        ctx.statusByWorld.get(exportDefault.worldId as string)!.storedId = DEFAULT_STATUS_ID
      } else {
        report.note(`the store already has a default world (${existing.worldId}); the export's default world ${String(exportDefault.worldId)} was added as another world`)
      }
    }

    const order: Array<{ table: ExportTable, mapping: TableMapping | undefined }> = []
    for (const mapping of tableMappings) {
      const table = byName.get(mapping.table)
      if (table !== undefined) order.push({ table, mapping })
    }
    for (const table of tables) if (!mappingByTable.has(table.name)) order.push({ table, mapping: undefined })

    const batchSize = options.batchSize ?? 500
    const importTable = async ({ table, mapping }: { table: ExportTable, mapping: TableMapping | undefined }, tr: TableReport): Promise<void> => {
      const skip = (line: number, reason: string): void => {
        tr.skipped++
        tr.reasons[reason] = (tr.reasons[reason] ?? 0) + 1
        report.problem({ file: table.file, line, message: reason }, reason)
      }
      const target = mapping?.target ?? null
      const checksum = target === null ? null : checksums.get(target)!
      const collection = target === null ? null : options.store.collection(target)
      let batch: Doc[] = []
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return
        if (options.dryRun !== true && collection !== null) {
          const { inserted } = await collection.insertMany(batch, { ignoreDuplicates: true })
          tr.imported += inserted
          tr.present += batch.length - inserted
        }
        batch = []
      }
      const each = async (doc: ConvexDoc, line: number): Promise<void> => {
        if (mapping === undefined) {
          skip(line, `unknown table "${table.name}": not part of AI Town's schema`)
          return
        }
        const mapped = mapping.map(doc, ctx)
        if ('skip' in mapped) {
          skip(line, mapped.skip)
          return
        }
        if ('duplicate' in mapped) {
          tr.duplicates++
          report.note(`${table.name}: ${mapped.duplicate}`)
          return
        }
        checksum!.add(mapped.doc)
        batch.push(mapped.doc)
        if (batch.length >= batchSize) await flush()
      }
      const rows = preloaded.get(table.name)
      let bad: number
      if (rows !== undefined) {
        bad = preloadedBad.get(table.name) ?? 0
        tr.read = rows.length + bad
        for (const { doc, line } of rows) await each(doc, line)
      } else {
        const result = await readTable(table, each)
        tr.read = result.read
        bad = result.bad
      }
      if (bad > 0) {
        tr.skipped += bad
        tr.reasons['unreadable line'] = (tr.reasons['unreadable line'] ?? 0) + bad
      }
      await flush()
      if (options.dryRun === true) tr.imported = tr.read - tr.skipped - tr.duplicates
      progress(table.name, table.size, true)
    }
    // Checksums keyed in table order, whichever table finishes first.
    for (const { mapping } of order) if (mapping !== undefined && mapping.target !== null && !checksums.has(mapping.target)) checksums.set(mapping.target, new CollectionChecksum())
    const reports = order.map(({ table, mapping }): TableReport => ({
      table: table.name, file: table.file, collection: mapping?.target ?? null, format: table.format, read: 0, imported: 0, present: 0, skipped: 0, reasons: {}, duplicates: 0
    }))
    report.tables.push(...reports)
    // Tables no other needs (the embeddings cache) are imported beside the others: their reading workers run
    // at the same time, and this thread maps and writes whichever batch is ready.
    const beside = order.flatMap((o, i) => o.mapping?.beside === true ? [importTable(o, reports[i]!)] : [])
    const inOrder = (async () => {
      for (const [i, o] of order.entries()) if (o.mapping?.beside !== true) await importTable(o, reports[i]!)
    })()
    // All settle before the export is closed; a failure in order is thrown before one beside.
    const failed = (await Promise.allSettled([inOrder, ...beside])).find((r) => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    for (const tr of report.tables) {
      totals.read += tr.read
      totals.imported += tr.imported
      totals.present += tr.present
      totals.skipped += tr.skipped
    }
  } finally {
    await source.close()
  }
  return finish()
}
