import createError from '@fastify/error'

/** One memory's embedding, always owned by exactly one player of one world (player ids repeat across worlds). */
export interface MemoryVector {
  id: string
  worldId: string
  playerId: string
  embedding: Float32Array
}

/** The key an index groups vectors by: one player of one world. NUL never occurs in either id. */
export function ownerKey (worldId: string, playerId: string): string {
  return `${worldId}\u0000${playerId}`
}

export interface VectorHit {
  id: string
  /** Cosine similarity in [-1, 1]; higher is closer. */
  score: number
}

export type VectorIndexKind = 'hnsw' | 'exact' | 'atlas'

/** A nearest-neighbour index over memory embeddings, searched one player of one world at a time. */
export interface MemoryVectorIndex {
  readonly kind: VectorIndexKind
  /** Inserts or replaces by id; an id that moves to another player or world leaves the old one. */
  upsert (items: MemoryVector[]): Promise<void>
  /** Unknown ids are ignored. */
  remove (ids: string[]): Promise<void>
  /** The k memories of `playerId` in `worldId` closest to `query`, best first. Never another player's or world's. */
  search (worldId: string, playerId: string, query: Float32Array, k: number): Promise<VectorHit[]>
  /** Live (not deleted) vectors held. */
  size (): number
  /** Persists what is held, where the implementation persists at all. */
  flush (): Promise<void>
  close (): Promise<void>
}

export interface RebuildProgress {
  /** Vectors read from the source so far. */
  done: number
  /** Total, when the caller knows it. */
  total?: number
  phase: 'load' | 'index' | 'persist' | 'done'
  elapsedMs: number
}

export type ProgressCallback = (progress: RebuildProgress) => void

/** Thrown before anything is written when a vector's length is not the configured dimension. */
export const VectorDimensionError = createError<[number, number]>(
  'TOWNHALL_ERR_VECTOR_DIMENSION',
  'vector has dimension %s, the index expects %s',
  500
)

export function assertDimension (vector: Float32Array, dimension: number): void {
  if (vector.length !== dimension) throw new VectorDimensionError(vector.length, dimension)
}

/** The slice of a pino logger the vector code uses (object first, then message). */
export interface VectorLogger {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}
