// worlds.historicalLocations of an AI Town export is in our own packed format: carried over when every
// record decodes, dropped with a note otherwise.
import { test } from 'tap'
import { mappingByTable, type ConvexDoc, type MapContext } from '../../src/transfer/convexTables.ts'
import { exportDocument } from '../../src/transfer/convexValue.ts'
import { createLocationRecorder, packLocationHistory, recordTick, unpackLocation } from '../../src/game/locationHistory.ts'

const T0 = 1_700_000_000_000

function context (notes: string[]): MapContext {
  return {
    dimension: 1024,
    embeddingModel: 'offline#1024',
    statusByWorld: new Map([['w1', { engineId: 'e1', storedId: 's1' }]]),
    engines: new Map([['e1', { _id: 'e1', _creationTime: T0, currentTime: T0 + 1000, lastStepTs: T0, running: true, generationNumber: 3 }]]),
    playerDescriptions: new Map(),
    agentDescriptions: new Map(),
    defaultStatusId: null,
    skippedEmbeddings: new Set(),
    cacheKeys: new Set(),
    onlyWorldId: 'w1',
    note: (text) => { notes.push(text) }
  }
}

/** A world document as an export line holds it: bytes as {"$bytes": base64}. */
function worldLine (historicalLocations: unknown): ConvexDoc {
  return exportDocument(JSON.parse(JSON.stringify({ _id: 'w1', _creationTime: T0, nextId: 1, players: [], agents: [], conversations: [], historicalLocations })))
}

function packedWalk (): Array<{ playerId: string, location: Uint8Array }> {
  const at = (x: number): Array<{ id: string, position: { x: number, y: number }, facing: { dx: number, dy: number }, speed: number }> =>
    [{ id: 'p:0', position: { x, y: 2 }, facing: { dx: 1, dy: 0 }, speed: 0.75 }]
  const recorder = createLocationRecorder(at(1), 62)
  for (let i = 1; i <= 10; i++) recordTick(recorder, T0 + 16 * i, at(1 + 0.012 * i))
  return packLocationHistory(recorder)
}

const map = (doc: ConvexDoc, notes: string[]): Record<string, unknown> => {
  const mapped = mappingByTable.get('worlds')!.map(doc, context(notes))
  if (!('doc' in mapped)) throw new Error(`not mapped: ${JSON.stringify(mapped)}`)
  return mapped.doc as Record<string, unknown>
}

test('AI Town\'s packed history is carried over as bytes', async (t) => {
  const packed = packedWalk()
  const notes: string[] = []
  const doc = map(worldLine(packed.map((e) => ({ playerId: e.playerId, location: { $bytes: Buffer.from(e.location).toString('base64') } }))), notes)
  const carried = doc.historicalLocations as Array<{ playerId: string, location: Uint8Array }>
  t.same(carried.map((e) => [e.playerId, [...e.location]]), packed.map((e) => [e.playerId, [...e.location]]))
  t.ok(carried[0]!.location instanceof Uint8Array)
  t.equal(unpackLocation(carried[0]!.location).x!.samples.length, 10)
  t.same(notes.filter((n) => n.includes('historicalLocations')), [])
  t.same(map(worldLine([]), notes).historicalLocations, [], 'a step where nobody moved: an empty list')
})

test('history that is not AI Town\'s location packing is dropped with a note', async (t) => {
  const bad = [
    { playerId: 'p:0', location: { $bytes: Buffer.from([1, 2, 3, 4, 5, 6]).toString('base64') } }, // another field configuration
    { playerId: 'p:0', location: 17 },
    { location: { $bytes: Buffer.from(packedWalk()[0]!.location).toString('base64') } },
    'not a record'
  ]
  for (const entry of bad) {
    const notes: string[] = []
    const doc = map(worldLine([entry]), notes)
    t.equal(doc.historicalLocations, undefined, JSON.stringify(entry))
    t.match(notes, [/historicalLocations.*not carried over/])
  }
  const notes: string[] = []
  t.equal(map(worldLine({ p0: 'x' }), notes).historicalLocations, undefined, 'not a list')
  t.equal(notes.length, 1)
})
