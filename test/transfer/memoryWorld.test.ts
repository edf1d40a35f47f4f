// AI Town keys memories by player id alone; an import gives each memory and embedding the export's world
// that has the player, and skips (with a reason) one whose player id several worlds of the export use.
import { test } from 'tap'
import { mappingByTable, type ConvexDoc, type MapContext, type Mapped } from '../../src/transfer/convexTables.ts'

const T0 = 1_700_000_000_000

function context (worlds: Record<string, string[]>): MapContext {
  const ids = Object.keys(worlds)
  return {
    dimension: 2,
    embeddingModel: 'offline#2',
    statusByWorld: new Map(ids.map((w, i) => [w, { engineId: `e${i}`, storedId: `s${i}` }])),
    engines: new Map(),
    playerDescriptions: new Map(Object.entries(worlds).map(([w, players]) =>
      [w, new Map(players.map((p) => [p, { _id: `${w}-${p}`, _creationTime: T0, worldId: w, playerId: p }]))])),
    agentDescriptions: new Map(),
    defaultStatusId: null,
    skippedEmbeddings: new Set(),
    cacheKeys: new Set(),
    onlyWorldId: ids.length === 1 ? ids[0]! : null,
    note: () => {}
  }
}

const embedding = (playerId: string): ConvexDoc => ({ _id: `e-${playerId}`, _creationTime: T0, playerId, embedding: [0.5, 0.5] })
const memory = (playerId: string): ConvexDoc => ({
  _id: `m-${playerId}`, _creationTime: T0, playerId, description: 'd', embeddingId: `e-${playerId}`, importance: 1, lastAccess: T0, data: { type: 'reflection', relatedMemoryIds: [] }
})
const worldOf = (mapped: Mapped): unknown => 'doc' in mapped ? mapped.doc.worldId : mapped

test('imported memories and their embeddings get the world of the export that has their player', async (t) => {
  const embeddings = mappingByTable.get('memoryEmbeddings')!
  const memories = mappingByTable.get('memories')!
  const single = context({ w1: [] })
  t.equal(worldOf(embeddings.map(embedding('p:0'), single)), 'w1', 'one world: every memory is its')
  t.equal(worldOf(memories.map(memory('p:0'), single)), 'w1')

  const two = context({ w1: ['p:0', 'p:1'], w2: ['p:0', 'p:2'] })
  t.equal(worldOf(embeddings.map(embedding('p:1'), two)), 'w1')
  t.equal(worldOf(memories.map(memory('p:2'), two)), 'w2')
  t.match(embeddings.map(embedding('p:0'), two), { skip: /more than one world of the export/ }, 'a player id two worlds use is skipped')
  t.match(memories.map(memory('p:0'), two), { skip: /more than one world of the export/ })
  t.match(memories.map(memory('p:9'), two), { skip: /world is unknown/ }, 'as is one no world has')
})
