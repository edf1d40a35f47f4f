// The embedded store: SQLite (better-sqlite3, WAL) with one table of JSON documents per collection.
import { EventEmitter } from 'node:events'
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { randomUUID } from 'node:crypto'
import Database from 'better-sqlite3'
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3'
import { collectionNames, collections, indexName, type CollectionName } from './collections.ts'
import { Checkpointer, type CheckpointerOptions } from './checkpointer.ts'
import { decodeRow, encodeRow } from './codec.ts'
import { DuplicateKeyError } from './errors.ts'
import { compileFilter, compileSort, fieldExpr } from './sqliteQuery.ts'
import { applyUpdate, equalityFields, setPath } from './update.ts'
import type {
  ChangeEvent, ChangeFeed, ChangeListener, Collection, Doc, Filter, FindOneOptions, FindOptions, NewDoc, Store, SubscribeOptions, Update, UpdateResult
} from './types.ts'

export interface EmbeddedStoreOptions {
  dataDir: string
  now?: () => number
  /** When WAL checkpoints move to a thread of their own, and how large the WAL may grow (tests set small ones). */
  checkpoints?: CheckpointerOptions
}

const FILE = 'townhall.sqlite'

/**
 * Only these top-level fields of a document, with `_id` and `_creationTime`. The whole row is decoded anyway here:
 * the choice of fields only keeps the answer the same as MongoDB's.
 */
function pick<T extends Doc> (doc: T, fields: readonly string[] | undefined): T {
  if (fields === undefined) return doc
  const picked: Doc = { _id: doc._id, _creationTime: doc._creationTime }
  for (const f of fields) if (f in doc) picked[f] = doc[f]
  return picked as T
}

function isUniqueViolation (err: unknown): boolean {
  const code = (err as { code?: string }).code
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const
  readonly path: string
  readonly #db: SqliteDatabase
  readonly #events = new EventEmitter()
  readonly #collections = new Map<CollectionName, EmbeddedCollection<Doc>>()
  readonly #now: () => number
  readonly #checkpointer: Checkpointer

  constructor (options: EmbeddedStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true })
    this.path = resolve(join(options.dataDir, FILE))
    this.#now = options.now ?? Date.now
    this.#db = new Database(this.path)
    this.#db.pragma('journal_mode = WAL')
    // NORMAL is durable across a process kill in WAL mode; only a power loss can drop the last commits.
    this.#db.pragma('synchronous = NORMAL')
    this.#db.pragma('busy_timeout = 10000')
    this.#events.setMaxListeners(0)
    this.#checkpointer = new Checkpointer(this.#db, this.path, options.checkpoints)
    for (const name of collectionNames) this.#ensureCollection(name)
  }

  #ensureCollection (name: CollectionName): void {
    // bin: the document's long number arrays (embeddings) as float64 bytes, out of the JSON text (codec.ts).
    this.#db.exec(`CREATE TABLE IF NOT EXISTS "${name}" (_id TEXT PRIMARY KEY, doc TEXT NOT NULL, bin BLOB)`)
    this.#addBinColumn(name)
    for (const spec of collections[name]) {
      const columns = Object.entries(spec.keys).map(([path, dir]) => `${fieldExpr(path)}${dir === -1 ? ' DESC' : ''}`)
      const unique = spec.unique === true ? 'UNIQUE ' : ''
      this.#db.exec(`CREATE ${unique}INDEX IF NOT EXISTS "${name}__${indexName(spec.keys)}" ON "${name}" (${columns.join(', ')})`)
    }
  }

  /** Stores written before the binary column had none: it is added (NULL for their rows, which decode as before). */
  #addBinColumn (name: CollectionName): void {
    const columns = this.#db.prepare(`PRAGMA table_info("${name}")`).all() as Array<{ name: string }>
    if (columns.some((c) => c.name === 'bin')) return
    try {
      this.#db.exec(`ALTER TABLE "${name}" ADD COLUMN bin BLOB`)
    } catch (err) {
      // Another process opening the same store added it first.
      if (!/duplicate column/.test((err as Error).message)) throw err
    }
  }

  collection<T extends Doc = Doc> (name: CollectionName): Collection<T> {
    let collection = this.#collections.get(name)
    if (collection === undefined) {
      collection = new EmbeddedCollection(name, this.#db, this.#now, (event) => { this.#events.emit('change', event) }, (bytes) => { this.#checkpointer.wrote(bytes) })
      this.#collections.set(name, collection)
    }
    return collection as unknown as Collection<T>
  }

  async ping (): Promise<void> {
    this.#db.prepare('SELECT 1').get()
  }

  async openChangeFeed (): Promise<ChangeFeed> {
    return new EmbeddedChangeFeed(this.#events)
  }

  async readSnapshot<T> (fn: () => Promise<T>): Promise<T> {
    // WAL readers keep the snapshot of their transaction's first read while other processes go on writing.
    this.#db.exec('BEGIN DEFERRED')
    try {
      this.#db.prepare('SELECT count(*) FROM "worlds"').get()
      return await fn()
    } finally {
      if (this.#db.inTransaction) this.#db.exec('COMMIT')
    }
  }

  describe (): string {
    return `embedded SQLite at ${this.path}`
  }

  async close (): Promise<void> {
    await this.#checkpointer.close()
    if (this.#db.open) this.#db.close()
  }
}

class EmbeddedChangeFeed implements ChangeFeed {
  readonly #events: EventEmitter
  readonly #listeners = new Set<(event: ChangeEvent) => void>()
  /** Active subscriptions per collection: what `watching` reports (the embedded feed costs nothing to keep). */
  readonly #active = new Map<CollectionName, number>()
  #closed = false

  constructor (events: EventEmitter) {
    this.#events = events
  }

  get live (): boolean {
    return !this.#closed
  }

  async ready (): Promise<void> {}

  get watching (): CollectionName[] {
    return [...this.#active.keys()]
  }

  subscribe (names: readonly CollectionName[], listener: ChangeListener, options: SubscribeOptions = {}): () => void {
    const wanted = new Set(names)
    if (options.passive !== true) for (const name of wanted) this.#active.set(name, (this.#active.get(name) ?? 0) + 1)
    let open = true
    const forward = (event: ChangeEvent): void => {
      if (!wanted.has(event.collection)) return
      // A failing listener must never fail the write that triggered it.
      try { listener(event) } catch { /* the listener owns its errors */ }
    }
    this.#listeners.add(forward)
    this.#events.on('change', forward)
    return () => {
      if (!open) return
      open = false
      this.#listeners.delete(forward)
      this.#events.off('change', forward)
      if (options.passive === true) return
      for (const name of wanted) {
        const left = (this.#active.get(name) ?? 1) - 1
        if (left > 0) this.#active.set(name, left)
        else this.#active.delete(name)
      }
    }
  }

  async close (): Promise<void> {
    this.#closed = true
    for (const forward of this.#listeners) this.#events.off('change', forward)
    this.#listeners.clear()
    this.#active.clear()
  }
}

interface Modified<T> { before: T[], after: T[], modified: number, upserted: T | null }

class EmbeddedCollection<T extends Doc> implements Collection<T> {
  readonly name: CollectionName
  readonly #db: SqliteDatabase
  readonly #now: () => number
  readonly #emit: (event: ChangeEvent) => void
  /** Told the bytes of each committed write transaction (the checkpointer). */
  readonly #wrote: (bytes: number) => void
  readonly #statements = new Map<string, Statement>()
  /** Bytes written by the transaction under way. */
  #bytes = 0

  constructor (name: CollectionName, db: SqliteDatabase, now: () => number, emit: (event: ChangeEvent) => void, wrote: (bytes: number) => void) {
    this.name = name
    this.#db = db
    this.#now = now
    this.#emit = emit
    this.#wrote = wrote
  }

  /** Runs `fn` in an immediate transaction, then reports its bytes. */
  #write (fn: () => void): void {
    this.#bytes = 0
    this.#db.transaction(fn).immediate()
    this.#wrote(this.#bytes)
  }

  #stmt (sql: string): Statement {
    let stmt = this.#statements.get(sql)
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql)
      this.#statements.set(sql, stmt)
    }
    return stmt
  }

  #complete (doc: NewDoc<T>): T {
    return { ...doc, _id: doc._id ?? randomUUID(), _creationTime: doc._creationTime ?? this.#now() } as T
  }

  #select (filter: Filter, options: FindOptions = {}): T[] {
    const { where, params } = compileFilter(filter)
    let sql = `SELECT doc, bin FROM "${this.name}" WHERE ${where} ORDER BY ${compileSort(options.sort)}`
    if (options.limit !== undefined || options.skip !== undefined) {
      sql += ' LIMIT ? OFFSET ?'
      params.push(options.limit ?? -1, options.skip ?? 0)
    }
    return (this.#stmt(sql).raw().all(...params) as Array<[string, Buffer | null]>).map(([text, bin]) => decodeRow<T>(text, bin))
  }

  #insertRow (doc: T, orIgnore: boolean): boolean {
    const sql = `INSERT ${orIgnore ? 'OR IGNORE ' : ''}INTO "${this.name}" (_id, doc, bin) VALUES (?, ?, ?)`
    const { text, bin } = encodeRow(doc)
    this.#bytes += text.length + (bin?.length ?? 0)
    try {
      return this.#stmt(sql).run(doc._id, text, bin).changes === 1
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError(this.name, (err as Error).message)
      throw err
    }
  }

  #writeRow (doc: T): void {
    try {
      const { text, bin } = encodeRow(doc)
      this.#bytes += text.length + (bin?.length ?? 0)
      this.#stmt(`UPDATE "${this.name}" SET doc = ?, bin = ? WHERE _id = ?`).run(text, bin, doc._id)
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError(this.name, (err as Error).message)
      throw err
    }
  }

  async insertOne (doc: NewDoc<T>): Promise<T> {
    const full = this.#complete(doc)
    this.#bytes = 0
    this.#insertRow(full, false)
    this.#wrote(this.#bytes)
    this.#emit({ collection: this.name, op: 'insert', id: full._id, doc: full })
    return full
  }

  async insertMany (docs: Array<NewDoc<T>>, options: { ignoreDuplicates?: boolean } = {}): Promise<{ inserted: number }> {
    const inserted: T[] = []
    this.#write(() => {
      for (const doc of docs) {
        const full = this.#complete(doc)
        if (this.#insertRow(full, options.ignoreDuplicates === true)) inserted.push(full)
      }
    })
    for (const doc of inserted) this.#emit({ collection: this.name, op: 'insert', id: doc._id, doc })
    return { inserted: inserted.length }
  }

  async findOne (filter: Filter, options: FindOneOptions = {}): Promise<T | null> {
    const doc = this.#select(filter, { sort: options.sort, limit: 1 })[0] ?? null
    return doc === null ? null : pick(doc, options.fields)
  }

  async find (filter: Filter, options: FindOptions = {}): Promise<T[]> {
    const docs = this.#select(filter, options)
    return options.fields === undefined ? docs : docs.map((d) => pick(d, options.fields))
  }

  async * iterate (filter: Filter, options: FindOptions & { batchSize?: number } = {}): AsyncIterable<T> {
    const batchSize = options.batchSize ?? 1000
    let remaining = options.limit ?? Infinity
    if (options.sort === undefined || Object.keys(options.sort).length === 0) {
      // Insertion order: keyset pages on rowid, so a full scan of a large collection stays linear.
      const { where, params } = compileFilter(filter)
      const sql = `SELECT rowid, doc, bin FROM "${this.name}" WHERE (${where}) AND rowid > ? ORDER BY rowid LIMIT ? OFFSET ?`
      let after = -1
      let skip = options.skip ?? 0
      while (remaining > 0) {
        const rows = this.#stmt(sql).all(...params, after, Math.min(batchSize, remaining), skip) as Array<{ rowid: number, doc: string, bin: Buffer | null }>
        skip = 0
        for (const row of rows) yield pick(decodeRow<T>(row.doc, row.bin), options.fields)
        if (rows.length < batchSize) return
        after = rows[rows.length - 1]!.rowid
        remaining -= rows.length
      }
      return
    }
    let skip = options.skip ?? 0
    // Any other sort pages by offset, which keeps the order correct; batches bound the memory.
    while (remaining > 0) {
      const batch = this.#select(filter, { sort: options.sort, skip, limit: Math.min(batchSize, remaining) })
      for (const doc of batch) yield pick(doc, options.fields)
      if (batch.length < batchSize) return
      skip += batch.length
      remaining -= batch.length
    }
  }

  async count (filter: Filter = {}): Promise<number> {
    const { where, params } = compileFilter(filter)
    return this.#stmt(`SELECT count(*) FROM "${this.name}" WHERE ${where}`).pluck().get(...params) as number
  }

  /** Read-modify-write under an immediate transaction, so the check and the write are one step across processes. */
  #modify (filter: Filter, update: Update, limit: number | undefined, upsert: boolean): Modified<T> {
    const before: T[] = []
    const after: T[] = []
    let modified = 0
    let upserted: T | null = null
    this.#write(() => {
      const docs = this.#select(filter, { limit })
      if (docs.length === 0 && upsert) {
        const fresh = this.#complete({} as NewDoc<T>)
        for (const [path, value] of Object.entries(equalityFields(filter))) setPath(fresh, path, value)
        applyUpdate(fresh, update, true)
        this.#insertRow(fresh, false)
        upserted = fresh
        return
      }
      for (const doc of docs) {
        before.push(structuredClone(doc))
        if (applyUpdate(doc, update, false)) {
          this.#writeRow(doc)
          modified++
        }
        after.push(doc)
      }
    })
    if (upserted !== null) this.#emit({ collection: this.name, op: 'insert', id: (upserted as T)._id, doc: upserted })
    for (const doc of after) this.#emit({ collection: this.name, op: 'update', id: doc._id, doc })
    return { before, after, modified, upserted }
  }

  #result (r: Modified<T>): UpdateResult {
    return { matched: r.after.length, modified: r.modified, upsertedId: r.upserted?._id ?? null }
  }

  async updateOne (filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    return this.#result(this.#modify(filter, update, 1, options.upsert === true))
  }

  async updateMany (filter: Filter, update: Update): Promise<UpdateResult> {
    return this.#result(this.#modify(filter, update, undefined, false))
  }

  async findOneAndUpdate (filter: Filter, update: Update, options: { upsert?: boolean, returnDocument?: 'before' | 'after' } = {}): Promise<T | null> {
    const r = this.#modify(filter, update, 1, options.upsert === true)
    if (r.upserted !== null) return options.returnDocument === 'after' ? r.upserted : null
    return (options.returnDocument === 'after' ? r.after[0] : r.before[0]) ?? null
  }

  #delete (filter: Filter, limit: number | undefined): number {
    const { where, params } = compileFilter(filter)
    let ids: string[] = []
    this.#db.transaction(() => {
      ids = this.#stmt(`SELECT _id FROM "${this.name}" WHERE ${where} ORDER BY rowid${limit === undefined ? '' : ` LIMIT ${limit}`}`)
        .pluck().all(...params) as string[]
      const del = this.#stmt(`DELETE FROM "${this.name}" WHERE _id = ?`)
      for (const id of ids) del.run(id)
    }).immediate()
    for (const id of ids) this.#emit({ collection: this.name, op: 'delete', id })
    return ids.length
  }

  async deleteOne (filter: Filter): Promise<number> {
    return this.#delete(filter, 1)
  }

  async deleteMany (filter: Filter): Promise<number> {
    return this.#delete(filter, undefined)
  }
}
