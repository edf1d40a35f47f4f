import createError from '@fastify/error'

/** One memory's embedding, always owned by exactly one player. */
export interface MemoryVector {
  id: string
  playerId: string
  embedding: Float32Array
}

export interface VectorHit {
  id: string
  /** Cosine similarity in [-1, 1]; higher is closer. */
  score: number
}

export type VectorIndexKind = 'hnsw' | 'exact' | 'atlas'

/** A nearest-neighbour index over memory embeddings, searched one player at a time. */
export interface MemoryVectorIndex {
  readonly kind: VectorIndexKind
  /** Inserts or replaces by id; an id that moves to another player leaves the old one. */
  upsert (items: MemoryVector[]): Promise<void>
  /** Unknown ids are ignored. */
  remove (ids: string[]): Promise<void>
  /** The k memories of `playerId` closest to `query`, best first. Never another player's. */
  search (playerId: string, query: Float32Array, k: number): Promise<VectorHit[]>
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
