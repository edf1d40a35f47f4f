// An imported AI Town world runs in our engine, and its agents bring their imported memories into
// conversation prompts (the real offline client and memory service; simulated time).
import { test } from 'tap'
import { join } from 'node:path'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { quietLog, waitFor } from '../helpers/engine.ts'
import { writeConvexExport } from '../fixtures/convexExport.ts'
import { importConvexExport } from '../../src/transfer/importConvex.ts'
import { loadWorld } from '../../src/engine/worldDoc.ts'
import { createOfflineClient } from '../../src/llm/offline.ts'
import type { ChatRequest } from '../../src/llm/types.ts'
import { recordingClient, startSimulatedRunner } from '../helpers/simulatedTown.ts'
import { MemoryService, type MemoryDoc } from '../../src/agents/memory.ts'
import { llmBrain } from '../../src/agents/brain.ts'
import { storeEmbeddingCache } from '../../src/agents/embeddingStore.ts'
import { openStoreVectorIndex } from '../../src/vector/fromStore.ts'

const embedded = storeTargets()[0]!

test('an imported world runs, and its agents retrieve imported memories in conversation prompts', { timeout: 180_000 }, async (t) => {
  const dir = await tempDir(t)
  const manifest = await writeConvexExport({ out: join(dir, 'snapshot.zip'), seed: 21 })
  const { store } = await embedded.fresh(t)
  const report = await importConvexExport(join(dir, 'snapshot.zip'), { store, dimension: 1024, embeddingModel: 'offline#1024' })
  t.equal(report.totals.skipped, 0)
  const imported = new Set((await store.collection<MemoryDoc>('memories').find({})).map((m) => m.description))
  t.ok(imported.size >= 5 * 12, 'memories imported')

  const vector = await openStoreVectorIndex({ store, kind: 'exact', dimension: 1024, dataDir: dir, log: quietLog })
  t.equal(vector.index.size(), manifest.tables.memoryEmbeddings!.documents, 'the vector index holds every imported embedding')
  const offline = createOfflineClient({ dimension: 1024 })
  const prompts: ChatRequest[] = []
  const before = await loadWorld(store, manifest.worldId)
  let clock = before!.step.currentTime + 60_000
  const now = (): number => clock
  const llm = recordingClient(offline, (request) => { prompts.push(request) })
  const memories = new MemoryService({ store, llm, cache: storeEmbeddingCache(store), index: vector.index, now, log: quietLog })
  const brain = llmBrain({ store, llm, memories, now })
  startSimulatedRunner(t, { store, worldId: manifest.worldId, brain, now, advance: () => { clock += 1000 } })

  await waitFor('the imported world advances', async () => {
    const world = await loadWorld(store, manifest.worldId)
    return world !== null && world.step.number >= 5 && world.step.generation > before!.step.generation ? world : null
  }, 60_000)
  const withMemory = await waitFor('a conversation prompt carrying an imported memory', async () => {
    return prompts.find((request) => request.task?.kind === 'conversation' && request.task.memories.some((text) => imported.has(text)))
  }, 120_000)
  const task = withMemory.task as { memories: string[] }
  const memory = task.memories.find((text) => imported.has(text))!
  t.ok(withMemory.messages.some((m) => m.content.includes(memory)), 'the imported memory is in the prompt text, verbatim')
  const world = await loadWorld(store, manifest.worldId)
  t.ok(world!.players.length >= manifest.agentPlayerIds.length, 'the imported players are still there')
  t.ok(world!.step.currentTime >= before!.step.currentTime, 'time did not move backwards')
})
