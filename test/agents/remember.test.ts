// End to end on the embedded store with the offline provider: two agents meet and talk, each remembers the
// conversation, and a later conversation's prompt carries that memory.
import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { quietLog, waitFor } from '../helpers/engine.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import { createOfflineClient } from '../../src/llm/offline.ts'
import type { ChatRequest } from '../../src/llm/types.ts'
import { recordingClient, startSimulatedRunner } from '../helpers/simulatedTown.ts'
import { MemoryService, type MemoryDoc } from '../../src/agents/memory.ts'
import { llmBrain } from '../../src/agents/brain.ts'
import { storeEmbeddingCache } from '../../src/agents/embeddingStore.ts'
import { createExactIndex } from '../../src/vector/exact.ts'
import { defaultCast } from '../../src/game/data/index.ts'

const embedded = storeTargets()[0]!

test('two agents meet, talk, remember, and the memory reaches a later conversation prompt', { timeout: 120_000 }, async (t) => {
  const { store } = await embedded.fresh(t)
  const offline = createOfflineClient({ dimension: 64 })
  const prompts: Array<{ at: number, request: ChatRequest }> = []
  let clock = Date.parse('2026-11-22T09:00:00Z')
  const now = (): number => clock
  // The real offline client, with every chat request recorded.
  const llm = recordingClient(offline, (request) => { prompts.push({ at: clock, request }) })
  const memories = new MemoryService({ store, llm, cache: storeEmbeddingCache(store), index: createExactIndex({ dimension: 64 }), now, log: quietLog })
  const brain = llmBrain({ store, llm, memories, now })
  const status = await createWorldRecords(store, { now: clock, cast: defaultCast.slice(0, 2), agents: 2, seed: 7 })
  startSimulatedRunner(t, { store, worldId: status.worldId, brain, now, advance: () => { clock += 1000 } })

  const firstMemories = await waitFor('both agents remember a conversation', async () => {
    const all = await store.collection<MemoryDoc>('memories').find({ 'data.type': 'conversation' })
    const players = new Set(all.map((m) => m.playerId))
    return players.size === 2 ? all : null
  }, 90_000)
  t.equal(new Set(firstMemories.map((m) => m.data.type === 'conversation' ? m.data.conversationId : '')).size, 1, 'both remember the same conversation')
  for (const m of firstMemories) {
    t.match(m.description, /^Conversation with .+ at \d{4}-\d\d-\d\d \d\d:\d\d UTC: I /, 'first-person summary in the description format')
    t.ok(m.importance >= 0 && m.importance <= 9)
  }
  const embeddings = await store.collection('memoryEmbeddings').count()
  t.equal(embeddings, 2, 'each memory has its embedding')
  const rememberedAt = Math.max(...firstMemories.map((m) => m.lastAccess))
  const later = await waitFor('a later conversation prompt carrying a memory', async () => {
    return prompts.find(({ at, request }) => at > rememberedAt && request.task?.kind === 'conversation' &&
      request.task.memories.some((text) => /^Conversation with /.test(text)))
  }, 90_000)
  const task = later.request.task as { memories: string[], self: { name: string } }
  t.ok(firstMemories.some((m) => task.memories.includes(m.description)), 'the prompt includes a stored memory verbatim')
  t.ok(later.request.messages.some((msg) => msg.content.includes('Conversation with')), 'and the prompt text shows it to the model')
})
