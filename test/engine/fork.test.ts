// A town run with the offline provider, forked at a step between two snapshots: the fork's state at that step is
// the original's, both then advance on their own, each replays identically, and the fork's memories are its own.
import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { quietLog, readWorld, waitFor } from '../helpers/engine.ts'
import { startSimulatedRunner } from '../helpers/simulatedTown.ts'
import { createWorldRecords, deleteWorld, sendInput, worldStatus } from '../../src/engine/worlds.ts'
import { forkWorld } from '../../src/engine/fork.ts'
import { replayWorld } from '../../src/engine/replay.ts'
import { listSnapshots, STATE_FIELDS } from '../../src/engine/snapshots.ts'
import type { EngineDoc, MessageDoc, WorldStatusDoc } from '../../src/engine/types.ts'
import { collectionNames } from '../../src/store/collections.ts'
import type { StoredWorldDoc } from '../../src/engine/worldDoc.ts'
import type { Store } from '../../src/store/types.ts'
import { createOfflineClient } from '../../src/llm/offline.ts'
import { MemoryService, type MemoryDoc } from '../../src/agents/memory.ts'
import { llmBrain } from '../../src/agents/brain.ts'
import { storeEmbeddingCache } from '../../src/agents/embeddingStore.ts'
import { createExactIndex } from '../../src/vector/exact.ts'
import { defaultCast } from '../../src/game/data/index.ts'

const TOWN_MS = 4 * 60_000
const EVERY = 30

function stateOf (doc: StoredWorldDoc | null): Record<string, unknown> {
  return Object.fromEntries(STATE_FIELDS.map((f) => [f, doc![f]]))
}

async function storedWorld (store: Store, worldId: string): Promise<StoredWorldDoc | null> {
  return await store.collection<StoredWorldDoc>('worlds').findOne({ _id: worldId })
}

for (const target of storeTargets()) {
  test(`a world forked at a step runs on its own from the original's state there (${target.name})`, { timeout: 300_000 }, async (t) => {
    const { store } = await target.fresh(t)
    let clock = Date.parse('2026-11-22T09:00:00Z')
    const now = (): number => clock
    const llm = createOfflineClient({ dimension: 64 })
    const index = createExactIndex({ dimension: 64 })
    const memories = new MemoryService({ store, llm, cache: storeEmbeddingCache(store), index, now, log: quietLog })
    const brain = llmBrain({ store, llm, memories, now })
    const run = async (worldId: string, ms: number): Promise<void> => {
      const until = clock + ms
      const runner = startSimulatedRunner(t, { store, worldId, brain, now, advance: () => { clock += 1000 }, runner: { snapshots: { everySteps: EVERY, keep: 5 } } })
      await waitFor(`${ms / 1000} s of game time`, async () => clock >= until, 240_000)
      await runner.stop()
    }
    const original = await createWorldRecords(store, { now: clock, cast: defaultCast, agents: defaultCast.length, seed: 15, name: 'Brackenford' })
    await sendInput(store, original.worldId, 'join', { name: 'Alice', character: 'f3', description: 'a visitor', tokenIdentifier: 'human:alice' }, now)
    await run(original.worldId, TOWN_MS)

    const before = await readWorld(store, original.worldId)
    const snapshots = await listSnapshots(store, original.worldId)
    // Between two snapshots, so the state is rebuilt by replaying step records, and late enough for memories.
    t.comment(`snapshots at ${snapshots.map((s) => s.step).join(' ')}`)
    const atStep = snapshots.at(-2)!.step + 7
    const memoriesBefore = await store.collection<MemoryDoc>('memories').count({ worldId: original.worldId })
    t.ok(memoriesBefore > 0, `the town made memories (${memoriesBefore})`)
    const atN = await replayWorld(store, original.worldId, { toStep: atStep, verify: false })

    const forkStarted = performance.now()
    const status = await forkWorld(store, original.worldId, { atStep, now: clock, index })
    t.comment(`forked at step ${atStep} of ${before.step.number} in ${(performance.now() - forkStarted).toFixed(0)} ms`)
    const forkId = status.worldId
    t.equal(status.status, 'running')
    t.same(status.forkedFrom, { worldId: original.worldId, step: atStep })
    t.equal(status.name, `Brackenford (fork at step ${atStep})`, 'named after the original and the step')
    t.not(status.engineId, original.engineId, 'its own engine')

    const forked = await storedWorld(store, forkId)
    t.same(stateOf(forked), atN.state, 'the fork\'s state at the step is the original\'s there')
    t.same(forked!.step, { number: atStep, generation: 0, currentTime: atN.clock.currentTime, lastStepTs: atN.clock.lastStepTs, processedInputNumber: 0 },
      'with the step\'s clock and its own input numbering')
    const engine = await store.collection<EngineDoc>('engines').findOne({ _id: status.engineId })
    t.match(engine, { worldId: forkId, running: true, currentTime: atN.clock.currentTime, processedInputNumber: 0 })
    t.same((await listSnapshots(store, forkId)).map((s) => s.step), [atStep], 'a first snapshot at the fork\'s step')
    t.ok(await store.collection('maps').findOne({ worldId: forkId }), 'the map copied')
    t.equal(await store.collection('playerDescriptions').count({ worldId: forkId }), Object.keys(atN.state.players as object).length, 'a description per player')

    // Messages: exactly those the step had counted, in each conversation live or ended by then.
    const forkMessages = await store.collection<MessageDoc>('messages').find({ worldId: forkId })
    const game = (await readWorld(store, forkId))
    const ended = await store.collection('archivedConversations').find({ worldId: forkId })
    const counted = game.conversations.reduce((a, c) => a + c.numMessages, 0) + ended.reduce((a, c) => a + (c.numMessages as number), 0)
    t.equal(forkMessages.length, counted, `the ${counted} messages the step had counted`)
    t.ok(ended.every((c) => (c.ended as number) <= atN.clock.currentTime), 'only conversations ended by the step are archived in the fork')

    // Memories: copies under new ids, each with its own embedding, known to the vector index.
    const forkMemories = await store.collection<MemoryDoc>('memories').find({ worldId: forkId })
    t.comment(`copied ${forkMessages.length} messages, ${forkMemories.length} of ${memoriesBefore} memories`)
    t.ok(forkMemories.length > 0 && forkMemories.length <= memoriesBefore, `memories copied (${forkMemories.length} of ${memoriesBefore})`)
    const originalIds = new Set((await store.collection('memories').find({ worldId: original.worldId })).map((m) => m._id))
    t.ok(forkMemories.every((m) => !originalIds.has(m._id)), 'under new ids')
    const embeddings = await store.collection('memoryEmbeddings').find({ worldId: forkId })
    t.same(new Set(embeddings.map((e) => e._id)), new Set(forkMemories.map((m) => m.embeddingId)), 'each with its own embedding')
    const m = forkMemories[0]!
    const hits = await index.search(forkId, m.playerId, Float32Array.from(embeddings.find((e) => e._id === m.embeddingId)!.embedding as number[]), 1)
    t.equal(hits[0]?.id, m.embeddingId, 'the vector index finds the fork\'s memory for the fork\'s player')
    for (const r of forkMemories.filter((x) => x.data.type === 'reflection')) {
      t.ok((r.data as { relatedMemoryIds: string[] }).relatedMemoryIds.every((id) => !originalIds.has(id)), 'a reflection links the fork\'s copies')
    }

    // Both advance on their own; the markers in flight at the step do not hold the fork's agents.
    const inFlight = new Set(game.agents.flatMap((a) => a.inProgressOperation === undefined ? [] : [a.inProgressOperation.operationId]))
    await run(forkId, 60_000)
    const forkAfter = await readWorld(store, forkId)
    t.ok(forkAfter.step.number > atStep + 50, `the fork stepped (${forkAfter.step.number - atStep} steps)`)
    t.ok(forkAfter.agents.every((a) => a.inProgressOperation === undefined || !inFlight.has(a.inProgressOperation.operationId)),
      `no fork agent still waits on an operation in flight at the step (${inFlight.size} were)`)
    t.not(JSON.stringify(stateOf(await storedWorld(store, forkId))), JSON.stringify(atN.state), 'the fork changed')
    t.same(await readWorld(store, original.worldId).then((w) => w.step), before.step, 'the original did not move while the fork ran')
    await run(original.worldId, 30_000)
    t.ok((await readWorld(store, original.worldId)).step.number > before.step.number, 'the original stepped on')

    t.equal((await replayWorld(store, original.worldId, { verify: true })).divergence, undefined, 'the original still replays identically')
    const forkReplay = await replayWorld(store, forkId, { verify: true })
    t.equal(forkReplay.divergence, undefined, 'the fork replays identically from its first snapshot')
    t.equal(forkReplay.fromStep, atStep)

    t.test('a step outside the kept range, or an unknown world, writes nothing', async (t) => {
      const worlds = await store.collection('worldStatus').count()
      await t.rejects(forkWorld(store, original.worldId, { atStep: 0, now: clock }), { statusCode: 400, code: 'TOWNHALL_ERR_FORK_STEP', message: /^step 0 is outside what world/ })
      await t.rejects(forkWorld(store, original.worldId, { atStep: 1e6, now: clock }), { message: /^step 1000000 is outside what world \S+ keeps: the kept range is steps \d+ to \d+$/ })
      await t.rejects(forkWorld(store, 'no-such-world', { atStep: 1, now: clock }), { message: /^no world / })
      t.equal(await store.collection('worldStatus').count(), worlds)
    })

    t.test('a fork cut short never runs, refuses inputs, and deletes like any world', async (t) => {
      const broken = { upsert: async () => { throw new Error('index away') } }
      await t.rejects(forkWorld(store, original.worldId, { atStep, now: clock, index: broken }), { message: 'index away' })
      const half = (await store.collection<WorldStatusDoc>('worldStatus').findOne({ status: 'forking' }))!
      t.ok(half, 'left marked forking')
      t.match(await store.collection<EngineDoc>('engines').findOne({ _id: half.engineId }), { running: false }, 'its engine is not running')
      await t.rejects(sendInput(store, half.worldId, 'join', { name: 'Bob', character: 'f1', description: 'x' }, now), { message: /is a fork still being made/ })
      await deleteWorld(store, half.worldId)
      for (const name of collectionNames) {
        const left = await store.collection(name).count(name === 'worlds' ? { _id: half.worldId } : name === 'engines' ? { _id: half.engineId } : { worldId: half.worldId })
        t.equal(left, 0, `nothing of it left in ${name}`)
      }
    })

    t.test('deleting the fork leaves the original\'s memories and messages', async (t) => {
      const kept = { memories: await store.collection('memories').count({ worldId: original.worldId }), messages: await store.collection('messages').count({ worldId: original.worldId }) }
      await deleteWorld(store, forkId, { index })
      t.same({ memories: await store.collection('memories').count({ worldId: original.worldId }), messages: await store.collection('messages').count({ worldId: original.worldId }) }, kept)
      t.equal(await store.collection('memoryEmbeddings').count({ worldId: forkId }), 0)
      await t.rejects(worldStatus(store, forkId), { message: /^no world / })
      t.equal((await replayWorld(store, original.worldId, { verify: true })).divergence, undefined, 'the original still replays identically')
    })
  })
}
