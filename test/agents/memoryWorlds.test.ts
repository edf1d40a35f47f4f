// Memories belong to one world: player ids ("p:0") repeat across worlds, and an agent of one world must never
// retrieve or reflect on another world's memories. Memories stored before that are migrated at start.
import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { quietLog } from '../helpers/engine.ts'
import { recordingClient } from '../helpers/simulatedTown.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import { createOfflineClient } from '../../src/llm/offline.ts'
import type { ChatRequest } from '../../src/llm/types.ts'
import { MemoryService, type MemoryDoc, type MemoryLog } from '../../src/agents/memory.ts'
import { assignMemoryWorlds } from '../../src/agents/memoryWorlds.ts'
import { storeEmbeddingCache } from '../../src/agents/embeddingStore.ts'
import { createExactIndex } from '../../src/vector/exact.ts'
import { createHnswIndex } from '../../src/vector/hnsw.ts'
import { openStoreVectorIndex } from '../../src/vector/fromStore.ts'
import { defaultCast } from '../../src/game/data/index.ts'
import type { Store } from '../../src/store/types.ts'
import type { MemoryVectorIndex } from '../../src/vector/types.ts'

const dimension = 64
const relationship = { type: 'relationship' as const, playerId: 'p:1' }

function capturingLog (): { log: MemoryLog, lines: Array<{ level: string, obj: Record<string, unknown>, msg: string }> } {
  const lines: Array<{ level: string, obj: Record<string, unknown>, msg: string }> = []
  const at = (level: string) => (obj: object, msg: string): void => { lines.push({ level, obj: obj as Record<string, unknown>, msg }) }
  return { lines, log: { info: at('info'), warn: at('warn') } }
}

/** A world whose players (as their descriptions name them) are `playerIds`, as the engine leaves them after creating agents. */
async function worldWith (store: Store, playerIds: string[], seed: number): Promise<string> {
  const { worldId } = await createWorldRecords(store, { now: seed, cast: defaultCast.slice(0, 2), agents: 0, seed })
  for (const [i, playerId] of playerIds.entries()) {
    await store.collection('playerDescriptions').insertOne({ worldId, playerId, name: defaultCast[i]!.name, description: 'x', character: 'f1' })
  }
  return worldId
}

async function twoWorlds (store: Store): Promise<[string, string]> {
  return [await worldWith(store, ['p:0', 'p:1'], 1), await worldWith(store, ['p:0', 'p:1'], 2)]
}

for (const target of storeTargets()) {
  for (const kind of ['exact', 'hnsw'] as const) {
    test(`an agent of world B never retrieves or reflects on world A's memories of the same player id (${target.name}, ${kind})`, async (t) => {
      const { store } = await target.fresh(t)
      const [worldA, worldB] = await twoWorlds(store)
      const playersA = await store.collection('playerDescriptions').find({ worldId: worldA })
      const playersB = await store.collection('playerDescriptions').find({ worldId: worldB })
      t.ok(playersA.some((p) => p.playerId === 'p:0') && playersB.some((p) => p.playerId === 'p:0'), 'both worlds have a player p:0')

      const prompts: ChatRequest[] = []
      const llm = recordingClient(createOfflineClient({ dimension }), (request) => { prompts.push(request) })
      const index: MemoryVectorIndex = kind === 'exact' ? createExactIndex({ dimension }) : createHnswIndex({ dimension, exactThreshold: 2 })
      const memories = new MemoryService({ store, llm, cache: storeEmbeddingCache(store), index, now: () => 1000, log: quietLog })

      // World A's p:0 has important memories about the flood (enough to reflect on); world B's p:0 about bread.
      const inA: MemoryDoc[] = []
      for (const description of ['I watched the river flood the mill last spring', 'The flood at the mill ruined the flour', 'I helped rebuild the mill after the flood']) {
        inA.push(await memories.add({ worldId: worldA, playerId: 'p:0', description, importance: 200, data: relationship }))
      }
      const inB = [
        await memories.add({ worldId: worldB, playerId: 'p:0', description: 'I baked rye bread with the miller', importance: 300, data: relationship }),
        await memories.add({ worldId: worldB, playerId: 'p:0', description: 'The bakery smelled of warm bread', importance: 300, data: relationship })
      ]
      t.ok([...inA, ...inB].every((m) => typeof m.worldId === 'string'), 'every memory carries its world')
      const embeddingWorlds = (await store.collection('memoryEmbeddings').find({})).map((e) => e.worldId).sort()
      t.same(embeddingWorlds, [worldA, worldA, worldA, worldB, worldB].sort(), 'and so does every embedding')

      const foundInB = await memories.search(worldB, 'p:0', 'the flood at the mill', 5)
      t.same(foundInB.map((m) => m._id).sort(), inB.map((m) => m._id).sort(), "world B's p:0 finds only its own memories, even for A's topic")
      const foundInA = await memories.search(worldA, 'p:0', 'the flood at the mill', 5)
      t.same(foundInA.map((m) => m._id).sort(), inA.map((m) => m._id).sort(), "and world A's p:0 only A's")
      t.same(await memories.search('w:elsewhere', 'p:0', 'the flood at the mill', 5), [], 'a world without memories finds none')

      // B's importance since its last reflection is 600 of its own: it reflects on its two statements only.
      const reflected = await memories.reflectIfDue(worldB, 'p:0', 'Alex')
      const reflection = prompts.find((r) => r.task?.kind === 'reflection')
      const statements = (reflection?.task as { statements: string[] } | undefined)?.statements
      t.same(statements?.slice().sort(), inB.map((m) => m.description).sort(), "B's reflection reads B's memories, none of A's")
      t.ok(reflected.length > 0 && reflected.every((m) => m.worldId === worldB && m.data.type === 'reflection'), 'its insights are stored in world B')
      const relatedIds = reflected.flatMap((m) => m.data.type === 'reflection' ? m.data.relatedMemoryIds : [])
      t.notOk(relatedIds.some((id) => inA.some((a) => a._id === id)), "no insight rests on A's memories")

      // A world whose own importance is below the threshold does not reflect on another world's.
      const worldC = await worldWith(store, ['p:0'], 3)
      await memories.add({ worldId: worldC, playerId: 'p:0', description: 'A quiet day', importance: 1, data: relationship })
      const before = prompts.length
      t.same(await memories.reflectIfDue(worldC, 'p:0', 'Alex'), [], "C's 1 point of importance is not over 500, whatever A and B hold")
      t.equal(prompts.slice(before).filter((r) => r.task?.kind === 'reflection').length, 0)
      await index.close()
    })
  }

  test(`memories stored before worlds get the one world of their player id; shared ids are left and logged (${target.name})`, async (t) => {
    const { store, reopen } = await target.fresh(t)
    const [worldA, worldB] = await twoWorlds(store)
    // p:77 is only in world A (a player description), p:78 only in B (archived), p:79 only in A's world document;
    // p:0 is in both; p:404 in none.
    await store.collection('playerDescriptions').insertOne({ worldId: worldA, playerId: 'p:77', name: 'Wren', description: 'x', character: 'f1' })
    await store.collection('archivedPlayers').insertOne({ worldId: worldB, id: 'p:78', human: null })
    await store.collection('worlds').updateOne({ _id: worldA }, { $set: { 'players.p:79': { id: 'p:79', lastInput: 1, position: { x: 1, y: 1 }, facing: { dx: 0, dy: 1 }, speed: 0 } } })
    const legacy = async (playerId: string): Promise<void> => {
      const e = await store.collection('memoryEmbeddings').insertOne({ playerId, embedding: Array.from({ length: dimension }, (_, i) => (i + playerId.length) % 7) })
      await store.collection('memories').insertOne({ playerId, description: `a memory of ${playerId}`, embeddingId: e._id, importance: 1, lastAccess: 1, data: relationship })
    }
    for (const id of ['p:77', 'p:77', 'p:78', 'p:79', 'p:0', 'p:404']) await legacy(id)

    const first = capturingLog()
    const report = await assignMemoryWorlds(store, first.log)
    t.same(report.migrated, { memories: 4, memoryEmbeddings: 4 })
    t.same(report.ambiguous, [{ playerId: 'p:0', worlds: [worldA, worldB].sort(), memories: 1, memoryEmbeddings: 1 }])
    t.same(report.left, { memories: 2, memoryEmbeddings: 2 }, 'p:0 (two worlds) and p:404 (none) keep no world')
    for (const name of ['memories', 'memoryEmbeddings'] as const) {
      t.same((await store.collection(name).find({ playerId: 'p:77' })).map((d) => d.worldId), [worldA, worldA], `${name} of p:77 are world A's`)
      t.same((await store.collection(name).find({ playerId: 'p:78' })).map((d) => d.worldId), [worldB], `${name} of the archived p:78 are world B's`)
      t.same((await store.collection(name).find({ playerId: 'p:79' })).map((d) => d.worldId), [worldA], `${name} of p:79 (in A's world document) are world A's`)
      t.equal(await store.collection(name).count({ playerId: 'p:0', worldId: null }), 1)
    }
    t.match(first.lines, [
      { level: 'info', obj: { migrated: { memories: 4, memoryEmbeddings: 4 } } },
      { level: 'warn', obj: { left: { memories: 2 }, ambiguous: [{ playerId: 'p:0' }] }, msg: /no world retrieves them/ }
    ])

    // Once more (a restart): nothing is migrated, the leftovers are still said.
    const second = capturingLog()
    const again = await assignMemoryWorlds(await reopen(), second.log)
    t.same(again.migrated, { memories: 0, memoryEmbeddings: 0 }, 'a second open migrates nothing')
    t.same(second.lines.map((l) => l.level), ['warn'])

    // The index opened from the store holds the migrated memories only: no world retrieves p:0's unscoped one.
    const opened = await openStoreVectorIndex({ store, kind: 'exact', dimension, dataDir: '/nonexistent', log: quietLog })
    t.equal(opened.index.size(), 4)
    const query = Float32Array.from({ length: dimension }, (_, i) => (i + 3) % 7)
    t.same(await opened.index.search(worldA, 'p:0', query, 5), [])
    t.same(await opened.index.search(worldB, 'p:0', query, 5), [])
    t.equal((await opened.index.search(worldA, 'p:77', query, 5)).length, 2)
    await opened.index.close()
  })

  test(`with a single world every old memory gets it, and the next open finds nothing to do (${target.name})`, async (t) => {
    const { store } = await target.fresh(t)
    const only = await worldWith(store, ['p:0', 'p:1', 'p:2'], 1)
    for (const playerId of ['p:0', 'p:1', 'p:2', 'p:0']) {
      const e = await store.collection('memoryEmbeddings').insertOne({ playerId, embedding: [1, 0] })
      await store.collection('memories').insertOne({ playerId, description: 'old', embeddingId: e._id, importance: 1, lastAccess: 1, data: relationship })
    }
    const report = await assignMemoryWorlds(store, quietLog)
    t.same([report.migrated, report.left, report.ambiguous], [{ memories: 4, memoryEmbeddings: 4 }, { memories: 0, memoryEmbeddings: 0 }, []])
    t.equal(await store.collection('memories').count({ worldId: only }), 4)
    t.equal(await store.collection('memoryEmbeddings').count({ worldId: only }), 4)
    const second = capturingLog()
    t.same(await assignMemoryWorlds(store, second.log), { migrated: { memories: 0, memoryEmbeddings: 0 }, ambiguous: [], left: { memories: 0, memoryEmbeddings: 0 } })
    t.same(second.lines, [], 'nothing logged when nothing is left')
  })
}
