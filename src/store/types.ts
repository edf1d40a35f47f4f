// The storage port: a narrow document API that both stores implement with the same semantics.
// Domain code is written once against it; the contract suite (test/store) proves both stores.
import type { CollectionName } from './collections.ts'

/** Every stored document has a string id and the time it was created (ms since epoch). */
export interface StoredFields {
  _id: string
  _creationTime: number
}
export type Doc = StoredFields & Record<string, unknown>
/** What callers insert: the store fills _id (when missing) and _creationTime. */
export type NewDoc<T extends Doc> = Omit<T, '_id' | '_creationTime'> & { _id?: string, _creationTime?: number }

/** Values stored as-is. Uint8Array is kept as binary in both stores. */
export type Scalar = string | number | boolean | null

export interface FieldOps {
  $eq?: Scalar
  $ne?: Scalar
  $gt?: string | number
  $gte?: string | number
  $lt?: string | number
  $lte?: string | number
  $in?: Scalar[]
  $nin?: Scalar[]
  $exists?: boolean
}
/** Top-level keys are (dotted) field paths, ANDed. Arrays are matched only by equality of scalars inside objects, never by containment. */
export type Filter = Record<string, Scalar | FieldOps>

export interface Update {
  $set?: Record<string, unknown>
  $unset?: Record<string, true | 1 | ''>
  $inc?: Record<string, number>
  $max?: Record<string, number>
  $setOnInsert?: Record<string, unknown>
}

export type Sort = Record<string, 1 | -1>

export interface FindOneOptions {
  sort?: Sort
  /** Only these top-level fields (and `_id`, `_creationTime`) are read: less to send and decode. */
  fields?: readonly string[]
}

export interface FindOptions extends FindOneOptions {
  limit?: number
  skip?: number
}

export interface UpdateResult {
  matched: number
  modified: number
  upsertedId: string | null
}

export interface Collection<T extends Doc = Doc> {
  readonly name: CollectionName
  /**
   * Inserts one document; throws DuplicateKeyError when _id or a unique index collides. In an inserted document
   * a Float64Array is an array of numbers: written, and read back, as one (other typed arrays are binary).
   */
  insertOne (doc: NewDoc<T>): Promise<T>
  /** Inserts many (Float64Arrays as in insertOne); with ignoreDuplicates, documents that collide are skipped (idempotent replays). */
  insertMany (docs: Array<NewDoc<T>>, options?: { ignoreDuplicates?: boolean }): Promise<{ inserted: number }>
  findOne (filter: Filter, options?: FindOneOptions): Promise<T | null>
  find (filter: Filter, options?: FindOptions): Promise<T[]>
  /** Streams matching documents in batches, for exports and rebuilds that must not hold a whole collection. */
  iterate (filter: Filter, options?: FindOptions & { batchSize?: number }): AsyncIterable<T>
  count (filter?: Filter): Promise<number>
  /** Atomic conditional update of one document (the filter is checked and the update applied as one step). */
  updateOne (filter: Filter, update: Update, options?: { upsert?: boolean }): Promise<UpdateResult>
  updateMany (filter: Filter, update: Update): Promise<UpdateResult>
  /** Atomic read-modify-write returning the document before or after the update. */
  findOneAndUpdate (filter: Filter, update: Update, options?: { upsert?: boolean, returnDocument?: 'before' | 'after' }): Promise<T | null>
  deleteOne (filter: Filter): Promise<number>
  deleteMany (filter: Filter): Promise<number>
}

export type ChangeOperation = 'insert' | 'update' | 'replace' | 'delete'

export interface ChangeEvent {
  collection: CollectionName
  op: ChangeOperation
  id: string
  /** The document after the change, when the store knows it (always for insert and replace). */
  doc?: Doc
}

export type ChangeListener = (event: ChangeEvent) => void

export interface SubscribeOptions {
  /**
   * Hear the changes of collections that other subscriptions have the feed watch, without having it watch them
   * (an observer such as the metrics plugin): on MongoDB a collection costs a change stream only while a
   * subscription that needs its changes is open.
   */
  passive?: boolean
}

/**
 * Inserts, updates and deletes of named collections, delivered after they are committed. A collection is
 * watched while a (non-passive) subscription to it is open, and for a while after the last one ends.
 */
export interface ChangeFeed {
  subscribe (collections: readonly CollectionName[], listener: ChangeListener, options?: SubscribeOptions): () => void
  /** Resolves once every subscribed collection is being watched, so later writes are certain to be seen. */
  ready (): Promise<void>
  /** The collections being watched now (on MongoDB, one change stream each). */
  readonly watching: readonly CollectionName[]
  /** True while the feed is delivering (false while a Mongo change stream is being reopened). */
  readonly live: boolean
  close (): Promise<void>
}

export interface Store {
  readonly kind: 'embedded' | 'mongodb'
  collection<T extends Doc = Doc> (name: CollectionName): Collection<T>
  /** Answers when the store is reachable; throws otherwise. */
  ping (): Promise<void>
  /** Opens the change feed for this store; the caller owns it and closes it. */
  openChangeFeed (): Promise<ChangeFeed>
  /** Runs `fn` with all its reads seeing one consistent snapshot, where the store offers that (embedded: one read transaction). */
  readSnapshot?: <T>(fn: () => Promise<T>) => Promise<T>
  /** A short human description, safe for logs (no passwords). */
  describe (): string
  close (): Promise<void>
}
