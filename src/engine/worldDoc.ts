// How a world is stored: players, agents and conversations keyed by game id, so a step that adds, changes
// or removes one entity writes only that entity ($set / $unset of `players.p:7`), never a shifted array.
import type { Agent, Conversation, Player, WorldState } from '../game/index.ts'
import type { Doc, Store } from '../store/types.ts'
import type { WorldDoc } from './types.ts'

export const ENTITY_FIELDS = ['players', 'agents', 'conversations'] as const

export interface StoredWorldDoc extends Doc {
  nextId: number
  rngState: WorldState['rngState']
  players: Record<string, Player>
  agents: Record<string, Agent>
  conversations: Record<string, Conversation>
  engineId: WorldDoc['engineId']
  cast: WorldDoc['cast']
  step: WorldDoc['step']
  historicalLocations?: WorldDoc['historicalLocations']
  outbox?: WorldDoc['outbox']
}

function keyed<T extends { id: string }> (items: readonly T[]): Record<string, T> {
  const out: Record<string, T> = {}
  for (const item of items) out[item.id] = item
  return out
}

/** The stored shape of a world's state (entities keyed by id, in their order). */
export function storedState (world: WorldState): Record<string, unknown> {
  return {
    nextId: world.nextId,
    rngState: world.rngState,
    players: keyed(world.players),
    agents: keyed(world.agents),
    conversations: keyed(world.conversations)
  }
}

export function worldFromStored (doc: StoredWorldDoc): WorldDoc {
  // Key order is insertion order (both stores keep it), which is the game's array order.
  return {
    ...doc,
    players: Object.values(doc.players ?? {}),
    agents: Object.values(doc.agents ?? {}),
    conversations: Object.values(doc.conversations ?? {})
  }
}

export async function loadWorld (store: Store, worldId: string): Promise<WorldDoc | null> {
  const doc = await store.collection<StoredWorldDoc>('worlds').findOne({ _id: worldId })
  return doc === null ? null : worldFromStored(doc)
}
