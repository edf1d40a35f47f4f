// `townhall validate-import` and GET /api/admin/import/report: what is in the store, per collection (documents
// and the same checksums the import and backup reports give), and whether the references between documents hold.
import { collectionNames, type CollectionName } from '../store/collections.ts'
import type { Doc, Store } from '../store/types.ts'
import { CollectionChecksum, type Checksum } from './checksum.ts'

export interface ValidateOptions {
  store: Store
  /** EMBEDDING_DIMENSION: memory embeddings of another length are reported. */
  dimension: number
  onProgress?: (progress: { collection: CollectionName, documents: number }) => void
}

export interface ValidationProblem {
  collection: CollectionName
  id?: string
  message: string
}

export interface ValidateReport {
  store: string
  collections: Record<CollectionName, Checksum>
  /** References that do not hold, counted per check; the first few of each are listed in `problems`. */
  checks: Record<string, number>
  problems: ValidationProblem[]
  ok: boolean
}

const LISTED_PER_CHECK = 5

/** Checksums of every collection, streamed (each document is read once). */
export async function checksumCollections (store: Store, visit?: (name: CollectionName, doc: Doc) => void, onProgress?: ValidateOptions['onProgress']): Promise<Record<CollectionName, Checksum>> {
  const out = {} as Record<CollectionName, Checksum>
  for (const name of collectionNames) {
    const sum = new CollectionChecksum()
    let documents = 0
    for await (const doc of store.collection(name).iterate({}, { batchSize: 1000 })) {
      sum.add(doc)
      visit?.(name, doc)
      if (++documents % 10_000 === 0) onProgress?.({ collection: name, documents })
    }
    out[name] = sum.result()
  }
  return out
}

export async function validateStore (options: ValidateOptions): Promise<ValidateReport> {
  const { store, dimension } = options
  const worlds = new Set<string>()
  const engines = new Set<string>()
  const mapsOf = new Set<string>()
  const embeddingOwner = new Map<string, string>()
  const usedEmbeddings = new Set<string>()
  const refs: Array<{ collection: CollectionName, id: string, kind: 'world' | 'engine', target: string, check: string }> = []
  const memoryRefs: Array<{ id: string, owner: string, embeddingId: string }> = []
  // A memory belongs to one player of one world; memories stored before worlds scoped them may have no world.
  const ownerOf = (doc: Doc): string => `${doc.playerId as string} of ${typeof doc.worldId === 'string' ? `world ${doc.worldId}` : 'no world'}`
  let unscoped = 0
  const checks: Record<string, number> = {}
  const problems: ValidationProblem[] = []
  const fail = (check: string, problem: ValidationProblem): void => {
    checks[check] = (checks[check] ?? 0) + 1
    if (checks[check]! <= LISTED_PER_CHECK) problems.push(problem)
  }

  const collections = await checksumCollections(store, (name, doc) => {
    switch (name) {
      case 'worlds':
        worlds.add(doc._id)
        refs.push({ collection: name, id: doc._id, kind: 'engine', target: doc.engineId as string, check: 'world without its engine' })
        break
      case 'engines': engines.add(doc._id); break
      case 'maps': mapsOf.add(doc.worldId as string); break
      case 'worldStatus':
        refs.push({ collection: name, id: doc._id, kind: 'world', target: doc.worldId as string, check: 'worldStatus without its world' })
        refs.push({ collection: name, id: doc._id, kind: 'engine', target: doc.engineId as string, check: 'worldStatus without its engine' })
        break
      case 'messages': case 'snapshots': case 'playerDescriptions': case 'agentDescriptions': case 'archivedConversations': case 'participatedTogether':
        refs.push({ collection: name, id: doc._id, kind: 'world', target: doc.worldId as string, check: `${name} of a missing world` })
        break
      case 'inputs':
        refs.push({ collection: name, id: doc._id, kind: 'engine', target: doc.engineId as string, check: 'input of a missing engine' })
        break
      case 'memoryEmbeddings': {
        embeddingOwner.set(doc._id, ownerOf(doc))
        const length = Array.isArray(doc.embedding) ? doc.embedding.length : -1
        if (length !== dimension) fail('embedding of the wrong dimension', { collection: name, id: doc._id, message: `has ${length} dimensions, EMBEDDING_DIMENSION is ${dimension}` })
        break
      }
      case 'memories':
        memoryRefs.push({ id: doc._id, owner: ownerOf(doc), embeddingId: doc.embeddingId as string })
        if (typeof doc.worldId !== 'string') unscoped++
        break
      case 'embeddingsCache': {
        const wanted = Number(String(doc.model).split('#').pop())
        const length = Array.isArray(doc.embedding) ? doc.embedding.length : -1
        if (Number.isInteger(wanted) && length !== wanted) fail('cached embedding of the wrong dimension', { collection: name, id: doc._id, message: `has ${length} dimensions, its model key says ${wanted}` })
        break
      }
    }
  }, options.onProgress)

  for (const ref of refs) {
    const known = ref.kind === 'world' ? worlds : engines
    if (!known.has(ref.target)) fail(ref.check, { collection: ref.collection, id: ref.id, message: `refers to ${ref.kind} ${ref.target}, which is not in the store` })
  }
  for (const world of worlds) if (!mapsOf.has(world)) fail('world without a map', { collection: 'worlds', id: world, message: 'has no map' })
  for (const memory of memoryRefs) {
    usedEmbeddings.add(memory.embeddingId)
    const owner = embeddingOwner.get(memory.embeddingId)
    if (owner === undefined) fail('memory without its embedding', { collection: 'memories', id: memory.id, message: `refers to embedding ${memory.embeddingId}, which is not in the store` })
    else if (owner !== memory.owner) fail('memory whose embedding belongs to another player', { collection: 'memories', id: memory.id, message: `is ${memory.owner}'s, its embedding ${memory.embeddingId} is ${owner}'s` })
  }
  // An embedding without a memory is what a crash between the two writes leaves: harmless, but worth knowing.
  let orphans = 0
  for (const id of embeddingOwner.keys()) if (!usedEmbeddings.has(id)) orphans++
  if (orphans > 0) checks['embedding without a memory (harmless)'] = orphans
  // Stored before worlds scoped memories: the next start migrates them, or keeps them unretrieved when their
  // player id is used by several worlds (docs/WORLDS.md).
  if (unscoped > 0) checks['memory without a world, retrieved by none (harmless)'] = unscoped

  const ok = Object.keys(checks).every((k) => k.endsWith('(harmless)'))
  return { store: store.describe(), collections, checks, problems, ok }
}
