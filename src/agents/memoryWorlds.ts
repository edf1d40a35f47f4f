// Memories stored before they were scoped by world carry only a playerId. At start each gets the one world
// that uses its player id; an id that several worlds use stays without a worldId, and no world retrieves it.
import { worldFromStored, type StoredWorldDoc } from '../engine/worldDoc.ts'
import type { Store } from '../store/types.ts'
import type { MemoryLog } from './memory.ts'

export interface MemoryWorldsReport {
  /** Documents given a worldId, per collection. */
  migrated: { memories: number, memoryEmbeddings: number }
  /** Player ids more than one world uses: their memories keep no worldId. */
  ambiguous: Array<{ playerId: string, worlds: string[], memories: number, memoryEmbeddings: number }>
  /** Documents still without a worldId afterwards (ambiguous, or of a player id no world uses). */
  left: { memories: number, memoryEmbeddings: number }
}

const nothing = (): MemoryWorldsReport => ({ migrated: { memories: 0, memoryEmbeddings: 0 }, ambiguous: [], left: { memories: 0, memoryEmbeddings: 0 } })

/** The worlds that use each player id: in their world document, their descriptions or their archived players. */
async function worldsByPlayer (store: Store): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>()
  const use = (playerId: unknown, worldId: unknown): void => {
    if (typeof playerId !== 'string' || typeof worldId !== 'string') return
    let worlds = out.get(playerId)
    if (worlds === undefined) out.set(playerId, worlds = new Set())
    worlds.add(worldId)
  }
  for (const d of await store.collection('playerDescriptions').find({})) use(d.playerId, d.worldId)
  for (const d of await store.collection('archivedPlayers').find({})) use(d.id, d.worldId)
  for await (const doc of store.collection<StoredWorldDoc>('worlds').iterate({}, { batchSize: 16 })) {
    for (const p of worldFromStored(doc).players) use(p.id, doc._id)
  }
  return out
}

/**
 * One-time and idempotent: gives every memory and memory embedding without a worldId the world of its player id,
 * where exactly one world uses it. Memories go before their embeddings, so when no embedding is left without a
 * worldId there is nothing left to do: that one indexed query is all a start pays once the store is migrated.
 */
export async function assignMemoryWorlds (store: Store, log: MemoryLog): Promise<MemoryWorldsReport> {
  const memories = store.collection('memories')
  const embeddings = store.collection('memoryEmbeddings')
  // `worldId: null` matches a missing field in both stores and uses the { worldId, playerId } index.
  if (await embeddings.findOne({ worldId: null }) === null) return nothing()
  const report = nothing()
  for (const [playerId, worlds] of await worldsByPlayer(store)) {
    const unscoped = { worldId: null, playerId }
    if (worlds.size === 1) {
      const [worldId] = worlds
      report.migrated.memories += (await memories.updateMany(unscoped, { $set: { worldId } })).modified
      report.migrated.memoryEmbeddings += (await embeddings.updateMany(unscoped, { $set: { worldId } })).modified
      continue
    }
    const left = { memories: await memories.count(unscoped), memoryEmbeddings: await embeddings.count(unscoped) }
    if (left.memories + left.memoryEmbeddings > 0) report.ambiguous.push({ playerId, worlds: [...worlds].sort(), ...left })
  }
  report.left = { memories: await memories.count({ worldId: null }), memoryEmbeddings: await embeddings.count({ worldId: null }) }
  if (report.migrated.memories + report.migrated.memoryEmbeddings > 0) {
    log.info({ migrated: report.migrated }, 'memories stored before worlds scoped them were given their world')
  }
  if (report.left.memories + report.left.memoryEmbeddings > 0) {
    log.warn({ left: report.left, ambiguous: report.ambiguous },
      'memories whose player id more than one world (or no world) uses keep no worldId: no world retrieves them')
  }
  return report
}
