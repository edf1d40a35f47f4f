// Agents' memories (BRIEF §4): stored with their embeddings, retrieved by relevance, importance and recency,
// remembered from conversations and distilled by reflection.
import { embedWithCache, type EmbeddingCache } from '../llm/embeddingCache.ts'
import type { CallOptions, LlmClient } from '../llm/types.ts'
import type { Doc, Store } from '../store/types.ts'
import type { MemoryVector, MemoryVectorIndex } from '../vector/types.ts'
import { memoriesToTouch, rankMemories, RETRIEVE_OVERFETCH } from './memoryRanking.ts'
import {
  importancePrompt, memoryDescription, parseImportance, parseReflection, reflectionPrompt, summaryPrompt
} from './prompts.ts'
import { REFLECTION_LOOKBACK, shouldReflect } from './reflection.ts'

export type MemoryData =
  | { type: 'conversation', conversationId: string, playerIds: string[] }
  | { type: 'reflection', relatedMemoryIds: string[] }
  | { type: 'relationship', playerId: string }

/** A memory belongs to one player of one world: player ids ("p:0") repeat across worlds. */
export interface MemoryDoc extends Doc {
  worldId: string
  playerId: string
  description: string
  embeddingId: string
  importance: number
  lastAccess: number
  data: MemoryData
}

export interface MemoryEmbeddingDoc extends Doc {
  worldId: string
  playerId: string
  embedding: number[]
}

export interface MemoryLog {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
}

/** Per call: cancellation, the world and agent the LLM calls are made for (usage and cost), and their priority. */
export type MemoryCall = Pick<CallOptions, 'signal' | 'attribution' | 'priority'>

export interface MemoryServiceOptions {
  store: Store
  llm: LlmClient
  cache: EmbeddingCache
  index: MemoryVectorIndex
  now: () => number
  log: MemoryLog
}

export class MemoryService {
  readonly #o: MemoryServiceOptions

  constructor (options: MemoryServiceOptions) {
    this.#o = options
  }

  async embed (text: string, call: MemoryCall = {}): Promise<Float32Array> {
    return (await embedWithCache(this.#o.llm, this.#o.cache, [text], { ...call, purpose: 'memory' }))[0]!
  }

  /** Stores a memory: embedding first (so a memory never points at a missing vector), then the memory, then the index. */
  async add (memory: { worldId: string, playerId: string, description: string, importance: number, data: MemoryData }, call: MemoryCall = {}): Promise<MemoryDoc> {
    const { store, index } = this.#o
    const { worldId, playerId } = memory
    const embedding = await this.embed(memory.description, call)
    const saved = await store.collection<MemoryEmbeddingDoc>('memoryEmbeddings').insertOne({ worldId, playerId, embedding: Array.from(embedding) })
    const doc = await store.collection<MemoryDoc>('memories').insertOne({
      ...memory, embeddingId: saved._id, lastAccess: this.#o.now()
    })
    await index.upsert([{ id: saved._id, worldId, playerId, embedding }])
    return doc
  }

  /** The n memories of a player of a world that best fit the query: relevance, importance and recency, equally weighted. */
  async search (worldId: string, playerId: string, query: string, n = 3, call: MemoryCall = {}): Promise<MemoryDoc[]> {
    const { store, index } = this.#o
    const embedding = await this.embed(query, call)
    const hits = await index.search(worldId, playerId, embedding, n * RETRIEVE_OVERFETCH)
    if (hits.length === 0) return []
    // The world and player again: a memory document is the truth even if an index entry were out of date.
    const memories = await store.collection<MemoryDoc>('memories').find({ embeddingId: { $in: hits.map((h) => h.id) }, worldId, playerId })
    const byEmbedding = new Map(memories.map((m) => [m.embeddingId, m]))
    const candidates = hits.flatMap((h) => {
      const m = byEmbedding.get(h.id)
      return m === undefined ? [] : [{ ...m, id: m._id, relevance: h.score }]
    })
    const now = this.#o.now()
    const winners = rankMemories(candidates, now, n)
    for (const id of memoriesToTouch(winners, now)) {
      await store.collection('memories').updateOne({ _id: id }, { $max: { lastAccess: now } })
    }
    return winners.map(({ id: _id, relevance: _r, relevanceScore: _a, importanceScore: _b, recencyScore: _c, score: _d, ...m }) => m as unknown as MemoryDoc)
  }

  async #chat (request: Parameters<LlmClient['chat']>[0], call: MemoryCall): Promise<string> {
    return (await this.#o.llm.chat({ ...request, ...call })).text
  }

  /** Summarises a finished conversation from one participant's view, scores it and stores it; then maybe reflects. */
  async rememberConversation (args: { worldId: string, playerId: string, conversationId: string, agentId?: string, signal?: AbortSignal }): Promise<MemoryDoc | null> {
    const { store } = this.#o
    const { worldId, playerId, conversationId, signal } = args
    // Remembering (and the reflection it may lead to) waits behind conversation replies in the LLM pool.
    const call: MemoryCall = { signal, priority: 'background', attribution: { worldId, playerId, ...(args.agentId !== undefined ? { agentId: args.agentId } : {}) } }
    const [messages, players, agent] = await Promise.all([
      store.collection('messages').find({ worldId, conversationId }, { sort: { _creationTime: 1 } }),
      worldPlayers(store, worldId),
      agentDescription(store, worldId, playerId, args.agentId)
    ])
    if (messages.length === 0) return null
    const names = new Map([...players].map(([id, p]) => [id, p.name]))
    const self = describeSelf(playerId, players, agent)
    const otherId = (messages.map((m) => m.author as string).find((a) => a !== playerId)) ??
      ((await store.collection('participatedTogether').findOne({ worldId, player1: playerId, conversationId }))?.player2 as string | undefined)
    const other = { name: otherId === undefined ? 'someone' : names.get(otherId) ?? otherId }
    const history = messages.map((m) => ({ author: names.get(m.author as string) ?? (m.author as string), text: m.text as string }))
    const summary = await this.#chat(summaryPrompt({ self, other, history }), call)
    const description = memoryDescription(other.name, messages[messages.length - 1]!._creationTime, summary.trim())
    const importance = parseImportance(await this.#chat(importancePrompt(description), call))
    const memory = await this.add({
      worldId, playerId, description, importance, data: { type: 'conversation', conversationId, playerIds: otherId === undefined ? [playerId] : [playerId, otherId] }
    }, call)
    await this.reflectIfDue(worldId, playerId, self.name, call)
    return memory
  }

  /** Reflects when the importance since the last reflection sums over the threshold. Bad JSON is logged, not fatal. */
  async reflectIfDue (worldId: string, playerId: string, name: string, call: MemoryCall = {}): Promise<MemoryDoc[]> {
    const latest = await this.#o.store.collection<MemoryDoc>('memories').find({ worldId, playerId }, { sort: { _creationTime: -1 }, limit: REFLECTION_LOOKBACK })
    if (!shouldReflect(latest)) return []
    const statements = latest.map((m) => m.description)
    const parsed = parseReflection(await this.#chat(reflectionPrompt(name, statements), call), latest.map((m) => m._id))
    if (parsed.insights.length === 0) {
      this.#o.log.warn({ worldId, playerId, reason: parsed.reason }, 'reflection produced no usable insights')
      return []
    }
    const stored: MemoryDoc[] = []
    for (const insight of parsed.insights) {
      const importance = parseImportance(await this.#chat(importancePrompt(insight.insight), call))
      stored.push(await this.add({ worldId, playerId, description: insight.insight, importance, data: { type: 'reflection', relatedMemoryIds: insight.relatedMemoryIds } }, call))
    }
    this.#o.log.info({ worldId, playerId, insights: stored.length }, 'reflected')
    return stored
  }

  /** Feeds every stored embedding that belongs to a world to the index (after a missing or stale HNSW file). */
  async * allEmbeddings (): AsyncIterable<MemoryVector> {
    for await (const doc of this.#o.store.collection<MemoryEmbeddingDoc>('memoryEmbeddings').iterate({ worldId: { $ne: null } }, { batchSize: 2000 })) {
      yield { id: doc._id, worldId: doc.worldId, playerId: doc.playerId, embedding: Float32Array.from(doc.embedding) }
    }
  }
}

/** A world's players as its descriptions have them: name and description by player id, in one read. */
export type WorldPlayers = Map<string, { name: string, description: string | undefined }>

export async function worldPlayers (store: Store, worldId: string): Promise<WorldPlayers> {
  return new Map((await store.collection('playerDescriptions').find({ worldId }))
    .map((d) => [d.playerId as string, { name: d.name as string, description: d.description as string | undefined }]))
}

export async function playerNames (store: Store, worldId: string): Promise<Map<string, string>> {
  return new Map([...await worldPlayers(store, worldId)].map(([id, p]) => [id, p.name]))
}

/** An agent's identity and plan; `agentId` when the caller knows it, else found from the player on the world. */
export async function agentDescription (store: Store, worldId: string, playerId: string, agentId?: string): Promise<Doc | null> {
  // Only the world's agents (keyed by agent id): the rest of the world is not needed to find one.
  const stored = agentId === undefined ? await store.collection('worlds').findOne({ _id: worldId }, { fields: ['agents'] }) : null
  const id = agentId ?? Object.values((stored?.agents ?? {}) as Record<string, { id: string, playerId: string }>).find((a) => a.playerId === playerId)?.id
  return id === undefined ? null : await store.collection('agentDescriptions').findOne({ worldId, agentId: id })
}

/** Who a player is, for its prompts: from the world's players and its agent's description (null: not an agent). */
export function describeSelf (playerId: string, players: WorldPlayers, description: Doc | null): { name: string, identity: string, plan: string } {
  const player = players.get(playerId)
  return {
    name: player?.name ?? playerId,
    identity: (description?.identity as string | undefined) ?? player?.description ?? '',
    plan: (description?.plan as string | undefined) ?? ''
  }
}
