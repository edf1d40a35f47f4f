// Every collection of the data model (BRIEF §1) and the indexes each needs. Both stores create them at start.

export interface IndexSpec {
  keys: Record<string, 1 | -1>
  unique?: boolean
}

export type CollectionName =
  | 'worlds' | 'worldStatus' | 'engines' | 'inputs' | 'maps' | 'playerDescriptions' | 'agentDescriptions'
  | 'archivedPlayers' | 'archivedAgents' | 'archivedConversations' | 'participatedTogether' | 'messages'
  | 'memories' | 'memoryEmbeddings' | 'embeddingsCache' | 'llmUsage'
  | 'llmControls' | 'instances' | 'snapshots' | 'convexMutations'

export const collections: Record<CollectionName, IndexSpec[]> = {
  worlds: [],
  worldStatus: [{ keys: { worldId: 1 }, unique: true }, { keys: { isDefault: 1 } }, { keys: { status: 1, lastViewed: 1 } }, { keys: { engineId: 1 } }],
  // The supervisor's claim query: running engines whose lease is free or expired (src/engine/supervisor.ts).
  engines: [{ keys: { running: 1, 'runner.until': 1 } }],
  inputs: [{ keys: { engineId: 1, number: 1 }, unique: true }, { keys: { received: 1 } }],
  maps: [{ keys: { worldId: 1 }, unique: true }],
  playerDescriptions: [{ keys: { worldId: 1, playerId: 1 }, unique: true }],
  agentDescriptions: [{ keys: { worldId: 1, agentId: 1 }, unique: true }],
  archivedPlayers: [{ keys: { worldId: 1, id: 1 }, unique: true }],
  archivedAgents: [{ keys: { worldId: 1, id: 1 }, unique: true }],
  archivedConversations: [{ keys: { worldId: 1, id: 1 }, unique: true }],
  participatedTogether: [
    { keys: { worldId: 1, player1: 1, conversationId: 1 }, unique: true },
    { keys: { worldId: 1, player1: 1, player2: 1, ended: 1 } },
    { keys: { worldId: 1, player1: 1, ended: 1 } }
  ],
  messages: [
    { keys: { worldId: 1, conversationId: 1, messageUuid: 1 }, unique: true },
    { keys: { worldId: 1, conversationId: 1, _creationTime: 1 } }
  ],
  // Memories belong to one player of one world (player ids repeat across worlds): reflection reads the latest by this.
  memories: [{ keys: { worldId: 1, playerId: 1, _creationTime: 1 } }, { keys: { embeddingId: 1 } }],
  memoryEmbeddings: [{ keys: { worldId: 1, playerId: 1 } }],
  embeddingsCache: [{ keys: { model: 1, textHash: 1 }, unique: true }],
  // Hourly LLM usage per world, agent and model (one document each, updated with $inc).
  llmUsage: [{ keys: { worldId: 1, hour: 1 } }],
  // LLM pauses (the deployment's, each world's) and per-world budget overrides (src/llm/controls.ts).
  llmControls: [{ keys: { worldId: 1 } }],
  // Each engine-running instance's heartbeat, for the fair share of worlds (src/engine/supervisor.ts).
  instances: [{ keys: { until: 1 } }],
  // A world's game state at a step, with the step records since the one before (src/engine/snapshots.ts).
  snapshots: [{ keys: { worldId: 1, step: 1 }, unique: true }],
  // Convex mutations answered, by session and request id, so a repeat on any instance is answered, not run
  // again; pruned by age (src/realtime/mutationLog.ts).
  convexMutations: [{ keys: { _creationTime: 1 } }]
}
export const collectionNames = Object.keys(collections) as CollectionName[]

export function isCollectionName (name: string): name is CollectionName {
  return Object.hasOwn(collections, name)
}

export function indexName (keys: Record<string, 1 | -1>): string {
  return Object.entries(keys).map(([k, d]) => `${k.replace(/\./g, '_')}_${d}`).join('_')
}
