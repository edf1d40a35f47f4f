import type { Db } from 'mongodb'
import { createAtlasIndex } from './atlas.ts'
import type { AtlasVectorIndex } from './atlas.ts'
import { createExactIndex } from './exact.ts'
import type { HnswVectorIndex } from './hnsw.ts'
import type { MemoryVectorIndex, VectorLogger } from './types.ts'

export type { MemoryVector, MemoryVectorIndex, VectorHit, VectorIndexKind, RebuildProgress, ProgressCallback, VectorLogger } from './types.ts'
export { VectorDimensionError } from './types.ts'
export { fingerprintOfIds } from './fingerprint.ts'
export { createExactIndex } from './exact.ts'
export type { HnswVectorIndex, HnswOpenResult, HnswIndexOptions, RebuildOptions, HnswStats } from './hnsw.ts'
export { createAtlasIndex, vectorSearchIndexDefinition, vectorSearchPipeline, AtlasSearchIndexError } from './atlas.ts'
export type { AtlasVectorIndex } from './atlas.ts'

export type VectorIndexChoice = 'auto' | 'hnsw' | 'atlas' | 'exact'

export interface CreateVectorIndexOptions {
  dimension: number
  log?: VectorLogger
  /** The caller's knowledge that `db` is an Atlas deployment (Vector Search available). */
  atlas?: boolean
  /** Required for 'atlas'. */
  db?: Db
  /** Where the HNSW index persists (DATA_DIR/vector); without it the HNSW index lives in memory. */
  dir?: string
  /** Compared with the persisted manifest: a mismatch means `needsRebuild`. */
  expectedFingerprint?: string
  expectedVersion?: string
  /** Atlas: false when the store already writes the memoryEmbeddings documents. */
  writeDocuments?: boolean
  hnsw?: { exactThreshold?: number, m?: number, efConstruction?: number, efSearch?: number }
}

export type CreatedVectorIndex =
  | { kind: 'hnsw', index: HnswVectorIndex, needsRebuild: boolean }
  | { kind: 'atlas', index: AtlasVectorIndex, needsRebuild: false }
  | { kind: 'exact', index: MemoryVectorIndex, needsRebuild: boolean }

/** Resolves 'auto': Atlas when the caller says it is connected to Atlas, else HNSW. */
export function resolveVectorIndexKind (kind: VectorIndexChoice, atlas: boolean | undefined): 'hnsw' | 'atlas' | 'exact' {
  if (kind === 'auto') return atlas === true ? 'atlas' : 'hnsw'
  return kind
}

/**
 * Creates the memory vector index. `needsRebuild` tells the caller to feed every memory embedding
 * through `rebuild` (HNSW) or `upsert` (exact, which is in memory only and always starts empty).
 * Atlas still needs `ensureSearchIndex()` before the first search.
 */
export async function createVectorIndex (kind: VectorIndexChoice, opts: CreateVectorIndexOptions): Promise<CreatedVectorIndex> {
  const resolved = resolveVectorIndexKind(kind, opts.atlas)
  if (resolved === 'atlas') {
    if (opts.db === undefined) throw new Error('the atlas vector index needs a MongoDB Db')
    return { kind: 'atlas', index: createAtlasIndex({ db: opts.db, dimension: opts.dimension, log: opts.log, writeDocuments: opts.writeDocuments }), needsRebuild: false }
  }
  if (resolved === 'exact') return { kind: 'exact', index: createExactIndex({ dimension: opts.dimension }), needsRebuild: true }
  // hnswlib-node is a native, optional dependency: where it could not be built, `auto` falls back to exact search.
  let hnsw: typeof import('./hnsw.ts')
  try {
    hnsw = await import('./hnsw.ts')
  } catch (err) {
    if (kind !== 'auto') throw new Error(`VECTOR_INDEX=hnsw needs the hnswlib-node package, which is not installed or did not build: ${(err as Error).message}`)
    opts.log?.warn({ err: { message: (err as Error).message } }, 'hnswlib-node is unavailable: memories are searched exactly (set VECTOR_INDEX=exact to silence this)')
    return { kind: 'exact', index: createExactIndex({ dimension: opts.dimension }), needsRebuild: true }
  }
  if (opts.dir === undefined) {
    return { kind: 'hnsw', index: hnsw.createHnswIndex({ dimension: opts.dimension, log: opts.log, ...opts.hnsw }), needsRebuild: true }
  }
  const { index, needsRebuild } = await hnsw.openHnswIndex({
    dir: opts.dir,
    dimension: opts.dimension,
    expectedFingerprint: opts.expectedFingerprint,
    expectedVersion: opts.expectedVersion,
    log: opts.log,
    ...opts.hnsw
  })
  return { kind: 'hnsw', index, needsRebuild }
}
