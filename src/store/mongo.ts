// The MongoDB store: the official driver, string ids, indexes ensured at start, and a change-stream probe.
import { randomUUID } from 'node:crypto'
import { MongoClient, MongoServerError, type Db, type Collection as MongoCollection, type Document } from 'mongodb'
import { redactUrl } from '../config.ts'
import { collectionNames, collections, indexName, type CollectionName } from './collections.ts'
import { numbersOf } from './codec.ts'
import { DuplicateKeyError, StoreUnavailableError } from './errors.ts'
import { MongoChangeFeed, type MongoChangeFeedOptions } from './mongoChangeFeed.ts'
import type { ChangeFeed, Collection, Doc, Filter, FindOneOptions, FindOptions, NewDoc, Sort, Store, Update, UpdateResult } from './types.ts'

export interface MongoStoreOptions {
  url: string
  dbName: string
  now?: () => number
  /** Passed to the change feed: logger and backoff bounds. */
  feed?: MongoChangeFeedOptions
  serverSelectionTimeoutMS?: number
  /** Fails an operation whose server never answers (the tests' stand-in server can stall); off by default. */
  socketTimeoutMS?: number
}

/**
 * The caller's sort, then `_creationTime` and `_id` as tie-breaks (insertion order, as in the embedded store) where
 * the caller did not sort on them: spreading them after the caller's keys would turn its `-1` on either into `1`.
 */
function withTieBreaks (sort: Sort | undefined): Sort {
  return { ...sort, ...(sort?._creationTime === undefined ? { _creationTime: 1 } : {}), ...(sort?._id === undefined ? { _id: 1 } : {}) }
}

/** A projection of these top-level fields; `_id` comes anyway, `_creationTime` is added (every document has both). */
function projectionOf (fields: readonly string[] | undefined): Document | undefined {
  return fields === undefined ? undefined : Object.fromEntries([...fields, '_creationTime'].map((f) => [f, 1]))
}

/**
 * The value with each Float64Array (the import's embeddings) as an array of numbers, which BSON would make
 * binary; objects and arrays are copied only where something changes, never changed in place.
 */
function plainNumbers (value: unknown): unknown {
  if (value instanceof Float64Array) return numbersOf(value)
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value
  const isArray = Array.isArray(value)
  if (!isArray && Object.getPrototypeOf(value) !== Object.prototype) return value // ObjectId, Date, Binary, …
  let out: Record<string, unknown> | unknown[] | null = null
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key]
    if (item === null || typeof item !== 'object') continue
    const next = plainNumbers(item)
    if (next !== item) {
      out ??= isArray ? (value as unknown[]).slice() : { ...(value as Record<string, unknown>) }
      ;(out as Record<string, unknown>)[key] = next
    }
  }
  return out ?? value
}

function isDuplicate (err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000
}

export class MongoStore implements Store {
  readonly kind = 'mongodb' as const
  readonly client: MongoClient
  readonly db: Db
  readonly #options: MongoStoreOptions
  readonly #now: () => number

  private constructor (client: MongoClient, options: MongoStoreOptions) {
    this.client = client
    this.db = client.db(options.dbName)
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** Connects, ensures collections and indexes, and checks that change streams work on this deployment. */
  static async open (options: MongoStoreOptions): Promise<MongoStore> {
    const client = new MongoClient(options.url, {
      // A connection string's own serverSelectionTimeoutMS wins; otherwise give up on an unreachable server after 10 s.
      ...(/serverSelectionTimeoutMS=/i.test(options.url) ? {} : { serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 10_000 }),
      promoteBuffers: true,
      ...(options.socketTimeoutMS !== undefined ? { socketTimeoutMS: options.socketTimeoutMS } : {}),
      ignoreUndefined: true
    })
    try {
      await client.connect()
    } catch (err) {
      await client.close().catch(() => {})
      throw new StoreUnavailableError(`cannot connect to MongoDB at ${redactUrl(options.url)}: ${(err as Error).message}`)
    }
    const store = new MongoStore(client, options)
    try {
      await store.#ensureSchema()
      await store.#checkChangeStreams()
    } catch (err) {
      await client.close().catch(() => {})
      throw err
    }
    return store
  }

  async #ensureSchema (): Promise<void> {
    const existing = new Set((await this.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name))
    for (const name of collectionNames) {
      if (!existing.has(name)) {
        await this.db.createCollection(name).catch((err: unknown) => {
          // Another instance may have created it between the listing and now.
          if (!(err instanceof MongoServerError && err.code === 48)) throw err
        })
      }
      for (const spec of collections[name]) {
        await this.db.collection(name).createIndex(spec.keys, { unique: spec.unique === true, name: indexName(spec.keys) })
      }
    }
  }

  async #checkChangeStreams (): Promise<void> {
    const stream = this.db.collection('worlds').watch([], { maxAwaitTimeMS: 1 })
    try {
      await stream.tryNext()
    } catch (err) {
      throw new StoreUnavailableError(
        `MongoDB at ${redactUrl(this.#options.url)} does not support change streams (${(err as Error).message}); ` +
        'townhall needs a replica set (even a single-node one) or MongoDB Atlas')
    } finally {
      await stream.close().catch(() => {})
    }
  }

  collection<T extends Doc = Doc> (name: CollectionName): Collection<T> {
    return new MongoStoreCollection<T>(name, this.db.collection(name), this.#now)
  }

  async ping (): Promise<void> {
    await this.db.command({ ping: 1 })
  }

  async openChangeFeed (): Promise<ChangeFeed> {
    return new MongoChangeFeed(this.db, this.#options.feed ?? {})
  }

  describe (): string {
    return `MongoDB ${redactUrl(this.#options.url)} database ${this.#options.dbName}`
  }

  async close (): Promise<void> {
    await this.client.close()
  }
}

class MongoStoreCollection<T extends Doc> implements Collection<T> {
  readonly name: CollectionName
  readonly #coll: MongoCollection<Document>
  readonly #now: () => number

  constructor (name: CollectionName, coll: MongoCollection<Document>, now: () => number) {
    this.name = name
    this.#coll = coll
    this.#now = now
  }

  #complete (doc: NewDoc<T>): T {
    return plainNumbers({ ...doc, _id: doc._id ?? randomUUID(), _creationTime: doc._creationTime ?? this.#now() }) as T
  }

  /** Upserts must create string ids and a creation time, like inserts. */
  #withInsertFields (filter: Filter, update: Update): Document {
    const onInsert: Document = { ...update.$setOnInsert, _creationTime: this.#now() }
    // An upsert keyed by _id keeps that id; otherwise it gets a string id like every insert.
    if (filter._id === undefined) onInsert._id = randomUUID()
    return { ...update, $setOnInsert: onInsert }
  }

  async insertOne (doc: NewDoc<T>): Promise<T> {
    const full = this.#complete(doc)
    try {
      await this.#coll.insertOne(full as Document)
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateKeyError(this.name, (err as Error).message)
      throw err
    }
    return full
  }

  async insertMany (docs: Array<NewDoc<T>>, options: { ignoreDuplicates?: boolean } = {}): Promise<{ inserted: number }> {
    if (docs.length === 0) return { inserted: 0 }
    try {
      const result = await this.#coll.insertMany(docs.map((d) => this.#complete(d)) as Document[], { ordered: options.ignoreDuplicates !== true })
      return { inserted: result.insertedCount }
    } catch (err) {
      if (!isDuplicate(err)) throw err
      const writeErrors = (err as { writeErrors?: Array<{ code?: number }> | { code?: number } }).writeErrors
      const list = Array.isArray(writeErrors) ? writeErrors : writeErrors === undefined ? [] : [writeErrors]
      // Unordered: every document was either inserted or reported as a write error.
      if (options.ignoreDuplicates === true && list.every((e) => e.code === 11000)) return { inserted: docs.length - list.length }
      throw new DuplicateKeyError(this.name, (err as Error).message)
    }
  }

  async findOne (filter: Filter, options: FindOneOptions = {}): Promise<T | null> {
    const projection = projectionOf(options.fields)
    return await this.#coll.findOne(filter as Document, { sort: withTieBreaks(options.sort), ...(projection !== undefined ? { projection } : {}) }) as T | null
  }

  async find (filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return await this.#cursor(filter, options).toArray() as T[]
  }

  #cursor (filter: Filter, options: FindOptions & { batchSize?: number }): ReturnType<MongoCollection<Document>['find']> {
    const projection = projectionOf(options.fields)
    const cursor = this.#coll.find(filter as Document, { batchSize: options.batchSize, ...(projection !== undefined ? { projection } : {}) })
    // _creationTime then _id stands in for insertion order as the final tie-break, as in the embedded store.
    cursor.sort(withTieBreaks(options.sort))
    if (options.skip !== undefined) cursor.skip(options.skip)
    if (options.limit !== undefined) cursor.limit(options.limit)
    return cursor
  }

  async * iterate (filter: Filter, options: FindOptions & { batchSize?: number } = {}): AsyncIterable<T> {
    for await (const doc of this.#cursor(filter, { batchSize: 1000, ...options })) yield doc as T
  }

  async count (filter: Filter = {}): Promise<number> {
    return await this.#coll.countDocuments(filter as Document)
  }

  async #update (run: () => Promise<UpdateResult>): Promise<UpdateResult> {
    try {
      return await run()
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateKeyError(this.name, (err as Error).message)
      throw err
    }
  }

  async updateOne (filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    return await this.#update(async () => {
      const upsert = options.upsert === true
      const r = await this.#coll.updateOne(filter as Document, upsert ? this.#withInsertFields(filter, update) : update as Document, { upsert })
      return { matched: r.matchedCount, modified: r.modifiedCount, upsertedId: r.upsertedId === null ? null : String(r.upsertedId) }
    })
  }

  async updateMany (filter: Filter, update: Update): Promise<UpdateResult> {
    return await this.#update(async () => {
      const r = await this.#coll.updateMany(filter as Document, update as Document)
      return { matched: r.matchedCount, modified: r.modifiedCount, upsertedId: null }
    })
  }

  async findOneAndUpdate (filter: Filter, update: Update, options: { upsert?: boolean, returnDocument?: 'before' | 'after' } = {}): Promise<T | null> {
    const upsert = options.upsert === true
    try {
      return await this.#coll.findOneAndUpdate(filter as Document, upsert ? this.#withInsertFields(filter, update) : update as Document, {
        upsert, returnDocument: options.returnDocument ?? 'before', includeResultMetadata: false
      }) as T | null
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateKeyError(this.name, (err as Error).message)
      throw err
    }
  }

  async deleteOne (filter: Filter): Promise<number> {
    return (await this.#coll.deleteOne(filter as Document)).deletedCount
  }

  async deleteMany (filter: Filter): Promise<number> {
    return (await this.#coll.deleteMany(filter as Document)).deletedCount
  }
}
