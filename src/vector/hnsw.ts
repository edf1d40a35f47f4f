import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import hnswlib from 'hnswlib-node'
import { ExactBlock } from './exact.ts'
import { FingerprintAccumulator } from './fingerprint.ts'
import { normalized } from './math.ts'
import { buildWorkerSource } from './hnsw-worker.ts'
import type { BuildJob, BuildReply } from './hnsw-worker.ts'
import { assertDimension, ownerKey } from './types.ts'
import type { MemoryVector, MemoryVectorIndex, ProgressCallback, VectorHit, VectorLogger } from './types.ts'

type Graph = InstanceType<typeof hnswlib.HierarchicalNSW>

/**
 * Chosen by measurement (bench/vector.ts, README): one graph per player, because a global graph
 * filtered to one player walks most of the graph and calls back into JS per candidate (30x slower
 * at 40 players); and an exact scan while a player is small, because it has perfect recall and
 * costs nothing to insert.
 */
export const HNSW_DEFAULTS = {
  /** Players with more live memories than this get a graph; at 1024 dims the scan and the graph cross near 256. */
  exactThreshold: 256,
  m: 16,
  efConstruction: 100,
  /**
   * 48, not 64: at 200k memories of one player recall@10 is 0.974 instead of 0.980 for ~20% less CPU per
   * search (p50 0.77 against 0.95 ms); graphs of 1,000 keep recall 1.000 down to 32 (bench:vector sweeps).
   */
  efSearch: 48
}

const MANIFEST = 'manifest.json'
/** 2: players are keyed by (world, player) owner keys; a format-1 index (keyed by player id alone) is stale. */
const FORMAT = 2
const YIELD_EVERY = 256

export interface HnswIndexOptions {
  /** Where flush() persists (e.g. DATA_DIR/vector); without it the index lives in memory only. */
  dir?: string
  dimension: number
  exactThreshold?: number
  m?: number
  efConstruction?: number
  efSearch?: number
  log?: VectorLogger
}

export interface HnswOpenOptions extends HnswIndexOptions {
  dir: string
  /** The store's `fingerprintOfIds` over its memory ids; a different manifest fingerprint means stale. */
  expectedFingerprint?: string
  /** A store-provided version string; a different manifest version means stale. */
  expectedVersion?: string
}

export interface HnswOpenResult {
  index: HnswVectorIndex
  /** True when the persisted index is missing, unreadable, of another dimension, or stale. */
  needsRebuild: boolean
  reason?: 'missing' | 'corrupt' | 'dimension' | 'stale'
}

export interface RebuildOptions {
  /** Total vectors, when known, passed through to progress reports. */
  total?: number
  onProgress?: ProgressCallback
  /** Report every this many vectors (default 10,000). */
  progressEvery?: number
  /**
   * Worker threads that build the players' graphs (default: one per core once there are at least
   * 10,000 vectors to index, else 0); 0 builds on the main thread.
   */
  threads?: number
}

export interface HnswStats {
  vectors: number
  players: number
  exactPlayers: number
  graphPlayers: number
  /** Marked-deleted graph nodes still taking space until their graph is compacted. */
  deletedNodes: number
}

export interface HnswVectorIndex extends MemoryVectorIndex {
  readonly kind: 'hnsw'
  /** `fingerprintOfIds` of the live ids, kept incrementally. */
  fingerprint (): string
  /** Records a store-provided version in the manifest on the next flush. */
  setVersion (version: string | undefined): void
  /** Replaces the contents with `source`, then flushes when a dir is set. */
  rebuild (source: AsyncIterable<MemoryVector> | Iterable<MemoryVector>, opts?: RebuildOptions): Promise<void>
  stats (): HnswStats
  /** Changes the search breadth of every graph (recall vs latency) without a rebuild. */
  setEfSearch (ef: number): void
}

interface ExactPlayer { type: 'exact', block: ExactBlock }

interface GraphPlayer {
  type: 'graph'
  graph: Graph
  /** label → id; undefined where the node is marked deleted. */
  idOf: Array<string | undefined>
  labelOf: Map<string, number>
  deleted: number
}

type Player = ExactPlayer | GraphPlayer

/** "Player" below means an owner: one player of one world (`ownerKey`), since player ids repeat across worlds. */
interface State {
  players: Map<string, Player>
  playerOf: Map<string, string>
  fingerprint: FingerprintAccumulator
}

interface ManifestPlayer { file: string, type: 'exact' | 'graph', count: number, labels?: number }

interface Manifest {
  format: number
  dimension: number
  fingerprint: string
  version?: string
  count: number
  m: number
  efConstruction: number
  players: Record<string, ManifestPlayer>
}

type Op = { op: 'upsert', items: MemoryVector[] } | { op: 'remove', ids: string[] }

function runBuildJob (worker: Worker, job: BuildJob, onIndexed: (n: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      worker.off('message', onMessage)
      worker.off('error', onError)
      worker.off('exit', onExit)
    }
    const onMessage = (reply: BuildReply): void => {
      if (reply.job !== job.job) return
      if ('indexed' in reply) {
        onIndexed(reply.indexed)
        return
      }
      cleanup()
      if (reply.ok) resolve()
      else reject(new Error(`graph build failed: ${reply.message}`))
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(err)
    }
    const onExit = (code: number): void => {
      cleanup()
      reject(new Error(`graph build worker exited with code ${code}`))
    }
    worker.on('message', onMessage)
    worker.on('error', onError)
    worker.on('exit', onExit)
    // The rebuild owns the block, so its buffer moves to the worker instead of being copied.
    worker.postMessage(job, [job.data.buffer as ArrayBuffer])
  })
}

const emptyState = (): State => ({ players: new Map(), playerOf: new Map(), fingerprint: new FingerprintAccumulator() })

const fileOf = (playerId: string): string => createHash('sha256').update(playerId).digest('hex').slice(0, 32)

/** Frees a graph's native memory now instead of whenever its wrapper is collected. */
function release (p: Player | undefined): void {
  if (p?.type === 'graph') p.graph.initIndex(1)
}

const liveCount = (p: Player): number => p.type === 'exact' ? p.block.count : p.labelOf.size

/** An index that is empty until rebuilt or loaded; `openHnswIndex` is the way to get a persisted one. */
export function createHnswIndex (opts: HnswIndexOptions): HnswVectorIndex {
  return createIndex(opts).index
}

function createIndex (opts: HnswIndexOptions): { index: HnswVectorIndex, load: (manifest: Manifest) => Promise<void> } {
  const dimension = opts.dimension
  const exactThreshold = opts.exactThreshold ?? HNSW_DEFAULTS.exactThreshold
  const m = opts.m ?? HNSW_DEFAULTS.m
  const efConstruction = opts.efConstruction ?? HNSW_DEFAULTS.efConstruction
  let efSearch = opts.efSearch ?? HNSW_DEFAULTS.efSearch
  const dir = opts.dir
  const log = opts.log

  let state = emptyState()
  let version: string | undefined
  /** Players whose files differ from disk; a player no longer in state has its files removed. */
  let dirty = new Set<string>()
  let persisted: Record<string, ManifestPlayer> = {}
  /** Writes that arrive during a rebuild, replayed on the rebuilt state. */
  let journal: Op[] | undefined
  /** Writes wait for an in-flight flush, so no graph or block changes while it is being written out. */
  let flushing: Promise<void> | undefined
  let closed = false

  async function idle (): Promise<void> {
    // flush() reassigns `flushing` while we wait.
    // eslint-disable-next-line no-unmodified-loop-condition
    while (flushing !== undefined) await flushing
  }

  /**
   * hnswlib-node takes plain arrays only. One array, refilled per call, instead of an Array.from per
   * search: the 8 KB of garbage per search at 1024 dims fed the young-generation collections that showed
   * up as a 0.3 ms tail (bench/vector-profile.ts). hnswlib copies it out before returning, so reuse is safe.
   */
  const scratch: number[] = new Array<number>(dimension).fill(0.5)
  function asArray (v: ArrayLike<number>): number[] {
    for (let i = 0; i < dimension; i++) scratch[i] = v[i]
    return scratch
  }

  function newGraph (capacity: number): Graph {
    const graph = new hnswlib.HierarchicalNSW('cosine', dimension)
    graph.initIndex(Math.max(capacity, 16), m, efConstruction, 100)
    graph.setEf(efSearch)
    return graph
  }

  function addToGraph (p: GraphPlayer, id: string, unit: ArrayLike<number>): void {
    const existing = p.labelOf.get(id)
    const label = existing ?? p.idOf.length
    if (existing === undefined) {
      const capacity = p.graph.getMaxElements()
      if (label >= capacity) p.graph.resizeIndex(capacity * 2)
    }
    p.graph.addPoint(asArray(unit), label)
    if (existing === undefined) {
      p.idOf.push(id)
      p.labelOf.set(id, label)
    }
  }

  /**
   * Replaces an exact block by a graph. Live writes promote synchronously so nothing can interleave;
   * a rebuild works on a private state and passes `onIndexed` to yield and report progress.
   */
  async function promote (s: State, playerId: string, block: ExactBlock, onIndexed?: (n: number) => void): Promise<void> {
    const graph = newGraph(Math.ceil(block.count * 1.25))
    const p: GraphPlayer = { type: 'graph', graph, idOf: [], labelOf: new Map(), deleted: 0 }
    for (let slot = 0; slot < block.count; slot++) {
      addToGraph(p, block.ids[slot], block.row(slot))
      if (onIndexed !== undefined && (slot + 1) % YIELD_EVERY === 0) {
        onIndexed(YIELD_EVERY)
        await yieldToLoop()
      }
    }
    onIndexed?.(block.count % YIELD_EVERY)
    s.players.set(playerId, p)
  }

  /**
   * Builds the graphs of `big` players in worker threads, biggest first, each into a scratch file
   * that the main thread reads back; the blocks' buffers are handed over, so they are gone after.
   */
  async function promoteInWorkers (s: State, big: Array<[string, ExactBlock]>, threads: number, onIndexed: (n: number) => void): Promise<void> {
    const scratch = await mkdtemp(join(tmpdir(), 'townhall-hnsw-'))
    const hnswlibPath = createRequire(import.meta.url).resolve('hnswlib-node')
    const workers = Array.from({ length: Math.min(threads, big.length) }, () =>
      new Worker(buildWorkerSource, { eval: true, workerData: { hnswlibPath } }))
    const queue = [...big].sort((a, b) => b[1].count - a[1].count)
    let job = 0
    try {
      await Promise.all(workers.map(async (worker) => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          const [playerId, block] = next
          const count = block.count
          const file = join(scratch, `${job}.hnsw`)
          await runBuildJob(worker, {
            job: job++,
            dimension,
            count,
            capacity: Math.max(16, Math.ceil(count * 1.25)),
            m,
            efConstruction,
            data: block.data,
            file
          }, onIndexed)
          const graph = new hnswlib.HierarchicalNSW('cosine', dimension)
          await graph.readIndex(file)
          graph.setEf(efSearch)
          await rm(file, { force: true })
          s.players.set(playerId, { type: 'graph', graph, idOf: block.ids.slice(), labelOf: new Map(block.ids.map((id, label) => [id, label])), deleted: 0 })
          onIndexed(count % 4096)
        }
      }))
    } finally {
      await Promise.all(workers.map(w => w.terminate()))
      await rm(scratch, { recursive: true, force: true })
    }
  }

  /** Rebuilds a graph without its deleted nodes, or turns it back into an exact block when small. */
  function compact (s: State, playerId: string, p: GraphPlayer): void {
    const live = p.labelOf.size
    const block = new ExactBlock(dimension, live)
    for (const [id, label] of p.labelOf) block.appendUnit(id, Float32Array.from(p.graph.getPoint(label)))
    if (live <= exactThreshold) {
      s.players.set(playerId, { type: 'exact', block })
      release(p)
      return
    }
    const next: GraphPlayer = { type: 'graph', graph: newGraph(Math.ceil(live * 1.25)), idOf: [], labelOf: new Map(), deleted: 0 }
    for (let slot = 0; slot < block.count; slot++) addToGraph(next, block.ids[slot], block.row(slot))
    s.players.set(playerId, next)
    release(p)
  }

  function removeOne (s: State, id: string): void {
    const playerId = s.playerOf.get(id)
    if (playerId === undefined) return
    s.playerOf.delete(id)
    s.fingerprint.delete(id)
    dirty.add(playerId)
    const p = s.players.get(playerId)
    if (p === undefined) return
    if (p.type === 'exact') {
      p.block.remove(id)
    } else {
      const label = p.labelOf.get(id)
      if (label !== undefined) {
        p.graph.markDelete(label)
        p.labelOf.delete(id)
        p.idOf[label] = undefined
        p.deleted++
        if (p.deleted >= Math.max(p.labelOf.size, exactThreshold)) compact(s, playerId, p)
      }
    }
    if (liveCount(s.players.get(playerId) as Player) === 0) s.players.delete(playerId)
  }

  /** Returns the exact block that crossed the threshold, if any, for the caller to promote. */
  function upsertOne (s: State, item: MemoryVector): ExactBlock | undefined {
    const { id, embedding } = item
    const playerId = ownerKey(item.worldId, item.playerId)
    const previous = s.playerOf.get(id)
    if (previous !== undefined && previous !== playerId) removeOne(s, id)
    if (!s.playerOf.has(id)) {
      s.playerOf.set(id, playerId)
      s.fingerprint.add(id)
    }
    dirty.add(playerId)
    let p = s.players.get(playerId)
    if (p === undefined) {
      p = { type: 'exact', block: new ExactBlock(dimension) }
      s.players.set(playerId, p)
    }
    if (p.type === 'exact') {
      p.block.upsert(id, embedding)
      return p.block.count > exactThreshold ? p.block : undefined
    }
    addToGraph(p, id, normalized(embedding))
    return undefined
  }

  async function applyUpsert (s: State, items: MemoryVector[]): Promise<void> {
    for (const item of items) {
      const block = upsertOne(s, item)
      if (block !== undefined) await promote(s, ownerKey(item.worldId, item.playerId), block)
    }
  }

  function assertOpen (): void {
    if (closed) throw new Error('vector index is closed')
  }

  async function writeAtomic (path: string, data: string | Uint8Array): Promise<void> {
    await writeFile(`${path}.tmp`, data)
    await rename(`${path}.tmp`, path)
  }

  const index: HnswVectorIndex = {
    kind: 'hnsw',

    async upsert (items: MemoryVector[]): Promise<void> {
      assertOpen()
      for (const item of items) assertDimension(item.embedding, dimension)
      await idle()
      journal?.push({ op: 'upsert', items })
      await applyUpsert(state, items)
    },

    async remove (ids: string[]): Promise<void> {
      assertOpen()
      await idle()
      journal?.push({ op: 'remove', ids })
      for (const id of ids) removeOne(state, id)
    },

    async search (worldId: string, playerId: string, query: Float32Array, k: number): Promise<VectorHit[]> {
      assertOpen()
      assertDimension(query, dimension)
      const p = state.players.get(ownerKey(worldId, playerId))
      if (p === undefined || k <= 0) return []
      if (p.type === 'exact') return p.block.search(normalized(query), k)
      const want = Math.min(k, p.labelOf.size)
      // hnswlib caps the candidate list at max(ef, k); keep it at least efSearch for recall.
      const { neighbors, distances } = p.graph.searchKnn(asArray(query), want)
      const hits: VectorHit[] = []
      for (let i = 0; i < neighbors.length; i++) {
        const id = p.idOf[neighbors[i]]
        if (id !== undefined) hits.push({ id, score: 1 - distances[i] })
      }
      return hits
    },

    size (): number {
      return state.playerOf.size
    },

    fingerprint (): string {
      return state.fingerprint.value()
    },

    setVersion (next: string | undefined): void {
      version = next
    },

    setEfSearch (ef: number): void {
      efSearch = ef
      for (const p of state.players.values()) if (p.type === 'graph') p.graph.setEf(ef)
    },

    stats (): HnswStats {
      let exactPlayers = 0
      let graphPlayers = 0
      let deletedNodes = 0
      for (const p of state.players.values()) {
        if (p.type === 'exact') exactPlayers++
        else {
          graphPlayers++
          deletedNodes += p.deleted
        }
      }
      return { vectors: state.playerOf.size, players: state.players.size, exactPlayers, graphPlayers, deletedNodes }
    },

    async rebuild (source, rebuildOpts = {}): Promise<void> {
      assertOpen()
      const { total, onProgress, progressEvery = 10_000 } = rebuildOpts
      const started = performance.now()
      const elapsedMs = (): number => Math.round(performance.now() - started)
      const next = emptyState()
      const oldPlayers = state.players
      journal = []
      let done = 0
      try {
        for await (const item of source) {
          assertDimension(item.embedding, dimension)
          const owner = ownerKey(item.worldId, item.playerId)
          const previous = next.playerOf.get(item.id)
          if (previous !== undefined && previous !== owner) removeOne(next, item.id)
          if (!next.playerOf.has(item.id)) {
            next.playerOf.set(item.id, owner)
            next.fingerprint.add(item.id)
          }
          let p = next.players.get(owner) as ExactPlayer | undefined
          if (p === undefined) {
            p = { type: 'exact', block: new ExactBlock(dimension) }
            next.players.set(owner, p)
          }
          // Everything loads as exact blocks first; big players are promoted once their size is known.
          p.block.upsert(item.id, item.embedding)
          if (++done % progressEvery === 0) {
            onProgress?.({ phase: 'load', done, total, elapsedMs: elapsedMs() })
            await yieldToLoop()
          }
        }
        onProgress?.({ phase: 'load', done, total, elapsedMs: elapsedMs() })
        const big: Array<[string, ExactBlock]> = []
        for (const [playerId, p] of next.players) {
          if (p.type === 'exact' && p.block.count > exactThreshold) big.push([playerId, p.block])
        }
        const toIndex = big.reduce((n, [, block]) => n + block.count, 0)
        const threads = rebuildOpts.threads ?? (toIndex >= 10_000 ? availableParallelism() : 0)
        let indexed = 0
        let reported = 0
        const onIndexed = (n: number): void => {
          indexed += n
          if (indexed - reported >= progressEvery) {
            reported = indexed
            onProgress?.({ phase: 'index', done: indexed, total: toIndex, elapsedMs: elapsedMs() })
          }
        }
        if (threads > 0 && big.length > 0) await promoteInWorkers(next, big, threads, onIndexed)
        else for (const [playerId, block] of big) await promote(next, playerId, block, onIndexed)
        onProgress?.({ phase: 'index', done: indexed, total: toIndex, elapsedMs: elapsedMs() })
        for (const op of journal) {
          if (op.op === 'upsert') await applyUpsert(next, op.items)
          else for (const id of op.ids) removeOne(next, id)
        }
      } finally {
        journal = undefined
      }
      state = next
      for (const p of oldPlayers.values()) release(p)
      // Every old and new player's files are rewritten or removed on flush.
      dirty = new Set([...oldPlayers.keys(), ...next.players.keys(), ...Object.keys(persisted)])
      if (dir !== undefined) {
        onProgress?.({ phase: 'persist', done, total, elapsedMs: elapsedMs() })
        await index.flush()
      }
      onProgress?.({ phase: 'done', done, total, elapsedMs: elapsedMs() })
      log?.info({ vectors: state.playerOf.size, players: state.players.size, ms: elapsedMs() }, 'vector index rebuilt')
    },

    async flush (): Promise<void> {
      assertOpen()
      if (dir === undefined) return
      await idle()
      flushing = writeOut(dir)
      try {
        await flushing
      } finally {
        flushing = undefined
      }
    },

    async close (): Promise<void> {
      if (closed) return
      await idle()
      closed = true
      for (const p of state.players.values()) release(p)
      state = emptyState()
    }
  }

  async function writeOut (dir: string): Promise<void> {
    const playersDir = join(dir, 'players')
    await mkdir(playersDir, { recursive: true })
    const changed = dirty
    dirty = new Set()
    // Without a manifest the index counts as missing, so a crash mid-flush means a rebuild, never a mix.
    await rm(join(dir, MANIFEST), { force: true })
    const players: Record<string, ManifestPlayer> = { ...persisted }
    for (const playerId of changed) {
      const file = fileOf(playerId)
      const base = join(playersDir, file)
      const p = state.players.get(playerId)
      if (p === undefined) {
        delete players[playerId]
        await Promise.all(['.ids.json', '.f32', '.hnsw'].map(ext => rm(base + ext, { force: true })))
        continue
      }
      if (p.type === 'exact') {
        const { block } = p
        const bytes = new Uint8Array(block.data.buffer, block.data.byteOffset, block.count * dimension * 4)
        await writeAtomic(`${base}.f32`, bytes)
        await writeAtomic(`${base}.ids.json`, JSON.stringify(block.ids))
        await rm(`${base}.hnsw`, { force: true })
        players[playerId] = { file, type: 'exact', count: block.count }
      } else {
        await p.graph.writeIndex(`${base}.hnsw.tmp`)
        await rename(`${base}.hnsw.tmp`, `${base}.hnsw`)
        await writeAtomic(`${base}.ids.json`, JSON.stringify(p.idOf.map(id => id ?? null)))
        await rm(`${base}.f32`, { force: true })
        players[playerId] = { file, type: 'graph', count: p.labelOf.size, labels: p.idOf.length }
      }
    }
    const manifest: Manifest = {
      format: FORMAT,
      dimension,
      fingerprint: state.fingerprint.value(),
      version,
      count: state.playerOf.size,
      m,
      efConstruction,
      players
    }
    await writeAtomic(join(dir, MANIFEST), JSON.stringify(manifest))
    persisted = players
  }

  /** Loads a manifest's players into this (empty) index; throws when any file is missing or inconsistent. */
  async function load (manifest: Manifest): Promise<void> {
    const s = emptyState()
    for (const [playerId, entry] of Object.entries(manifest.players)) {
      const base = join(dir as string, 'players', entry.file)
      const ids = JSON.parse(await readFile(`${base}.ids.json`, 'utf8')) as Array<string | null>
      if (entry.type === 'exact') {
        const buf = await readFile(`${base}.f32`)
        if (buf.byteLength !== ids.length * dimension * 4 || ids.length !== entry.count) throw new Error(`player file ${entry.file} is inconsistent`)
        const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
        const block = new ExactBlock(dimension, ids.length)
        for (let slot = 0; slot < ids.length; slot++) {
          block.appendUnit(ids[slot] as string, data.subarray(slot * dimension, (slot + 1) * dimension))
        }
        s.players.set(playerId, { type: 'exact', block })
        for (const id of block.ids) {
          s.playerOf.set(id, playerId)
          s.fingerprint.add(id)
        }
      } else {
        const graph = new hnswlib.HierarchicalNSW('cosine', dimension)
        await graph.readIndex(`${base}.hnsw`)
        graph.setEf(efSearch)
        const p: GraphPlayer = { type: 'graph', graph, idOf: [], labelOf: new Map(), deleted: 0 }
        for (let label = 0; label < ids.length; label++) {
          const id = ids[label]
          p.idOf.push(id ?? undefined)
          if (id === null) {
            p.deleted++
            continue
          }
          p.labelOf.set(id, label)
          s.playerOf.set(id, playerId)
          s.fingerprint.add(id)
        }
        if (p.labelOf.size !== entry.count || graph.getCurrentCount() !== ids.length) throw new Error(`player file ${entry.file} is inconsistent`)
        s.players.set(playerId, p)
      }
    }
    if (s.fingerprint.value() !== manifest.fingerprint) throw new Error('vector index files do not match the manifest')
    state = s
    version = manifest.version
    persisted = manifest.players
  }

  return { index, load }
}

/**
 * Opens the index persisted under `dir`. An index that is missing, unreadable, of another
 * dimension, or whose fingerprint/version differs from the expected one comes back empty with
 * `needsRebuild: true`; the caller then feeds it every memory through `rebuild`.
 */
export async function openHnswIndex (opts: HnswOpenOptions): Promise<HnswOpenResult> {
  const { dir, dimension, expectedFingerprint, expectedVersion, log } = opts
  await mkdir(dir, { recursive: true })
  const { index, load } = createIndex(opts)
  const fail = (reason: NonNullable<HnswOpenResult['reason']>, detail: object = {}): HnswOpenResult => {
    log?.warn({ dir, reason, ...detail }, 'vector index needs a rebuild')
    return { index, needsRebuild: true, reason }
  }
  let manifest: Manifest
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fail('missing')
    return fail('corrupt', { err })
  }
  // An older format was written before memories were scoped by world: the store holds the truth, so rebuild.
  if (typeof manifest.format === 'number' && manifest.format < FORMAT) return fail('stale', { format: manifest.format, expected: FORMAT })
  if (manifest.format !== FORMAT) return fail('corrupt', { format: manifest.format })
  if (manifest.dimension !== dimension) return fail('dimension', { found: manifest.dimension, dimension })
  if (expectedFingerprint !== undefined && manifest.fingerprint !== expectedFingerprint) {
    return fail('stale', { found: manifest.fingerprint, expected: expectedFingerprint })
  }
  if (expectedVersion !== undefined && manifest.version !== expectedVersion) {
    return fail('stale', { found: manifest.version, expected: expectedVersion })
  }
  try {
    await load(manifest)
  } catch (err) {
    return fail('corrupt', { err })
  }
  log?.info({ dir, vectors: index.size() }, 'vector index loaded')
  return { index, needsRebuild: false }
}
