import { test } from 'tap'
import { simulateStep } from '../../src/game/step.ts'
import { createWorld } from '../../src/game/world.ts'
import { unpackLocationHistory } from '../../src/game/locationHistory.ts'
import { CAST, Sim, T0, mapFromRows, openMap, serveOperations } from './helpers.ts'

test('ticks run every 16 ms in (from, to]; currentTime is the last tick', async (t) => {
  const world = createWorld(1)
  const map = openMap(8, 8)
  const r = simulateStep({ world, map, cast: CAST }, [], { from: T0, to: T0 + 1000 })
  t.equal(r.stats.ticks, 62)
  t.equal(r.currentTime, T0 + 992)
  const none = simulateStep({ world, map, cast: CAST }, [], { from: T0, to: T0 + 15 })
  t.equal(none.stats.ticks, 0)
  t.equal(none.currentTime, T0, 'no whole tick: time does not move')
  const capped = simulateStep({ world, map, cast: CAST }, [], { from: T0, to: T0 + 60_000 })
  t.equal(capped.stats.ticks, 600, 'at most 600 ticks per step')
  t.equal(capped.currentTime, T0 + 9600)
})

test('inputs apply in number order once received; later ones wait for the next step', async (t) => {
  const world = createWorld(1)
  const ctx = { world, map: openMap(8, 8), cast: CAST }
  const join = (name: string): object => ({ name, character: 'f1', description: 'd' })
  const inputs = [
    { number: 3, name: 'join', args: join('C'), received: T0 + 100 },
    { number: 1, name: 'join', args: join('A'), received: T0 + 100 },
    { number: 2, name: 'join', args: join('B'), received: T0 + 500 },
    { number: 4, name: 'join', args: join('D'), received: T0 + 5000 }
  ]
  const r = simulateStep(ctx, inputs, { from: T0, to: T0 + 1000 })
  t.same(r.results.map((x) => x.number), [1, 2, 3], 'number order; 3 waits behind 2 even though received earlier')
  t.same(r.playerDescriptions.map((d) => d.name), ['A', 'B', 'C'])
  t.same(r.results.map((x) => x.returnValue), [{ kind: 'ok', value: 'p:0' }, { kind: 'ok', value: 'p:1' }, { kind: 'ok', value: 'p:2' }])
  const history = unpackLocationHistory(r.historicalLocations)
  t.equal(history.tickTimes.length, 62)
  const p0 = history.players.find((p) => p.playerId === 'p:0')!
  const p1 = history.players.find((p) => p.playerId === 'p:1')!
  t.equal(p0.firstTick, 6, 'A appears at the first tick at or after 100 ms (112)')
  t.equal(p1.firstTick, 31, 'B at 512')
  t.equal(p0.x.length, 62 - 6)
  const r2 = simulateStep(ctx, [inputs[3]], { from: r.currentTime, to: T0 + 6000 })
  t.same(r2.results.map((x) => x.number), [4])
})

test('ids come from one counter: p, a, c, o', async (t) => {
  const sim = new Sim(openMap(10, 10))
  const h = sim.join('Hu', 'tok')
  const { agentId, playerId } = sim.ok<{ agentId: string, playerId: string }>('createAgent', { descriptionIndex: 0 })
  t.equal(h, 'p:0')
  t.equal(playerId, 'p:1')
  t.equal(agentId, 'a:2')
  t.equal(sim.operations[0].operationId, 'o:3')
  t.equal(sim.world.nextId, 4)
})

function runTown (seed: number): { json: string, bytes: number[][], conversations: number, messages: number } {
  const map = mapFromRows([
    '................',
    '....####........',
    '....#...........',
    '..........###...',
    '................',
    '......#.........',
    '................',
    '................'
  ])
  const sim = new Sim(map, seed)
  sim.join('Hu', 'tok')
  for (let i = 0; i < 3; i++) sim.send('createAgent', { descriptionIndex: i })
  let served = 0
  for (let s = 0; s < 240; s++) {
    sim.advance(1000)
    served = serveOperations(sim, served)
    if (s === 10) sim.send('moveTo', { playerId: 'p:0', destination: { x: 15, y: 7 } })
  }
  const archived = sim.steps.flatMap((r) => r.archivedConversations)
  return {
    json: JSON.stringify(sim.world),
    bytes: sim.steps.map((r) => [...r.historicalLocations]),
    conversations: archived.length,
    messages: archived.reduce((n, c) => n + c.numMessages, 0)
  }
}

test('determinism: same seed and inputs give the same world and history', async (t) => {
  const a = runTown(5)
  const b = runTown(5)
  t.equal(a.json, b.json)
  t.same(a.bytes, b.bytes)
  const c = runTown(6)
  t.not(a.json, c.json, 'another seed plays out differently')
  t.ok(a.conversations > 0 && a.messages > 0, `the run exercised conversations (${a.conversations}, ${a.messages} messages)`)
  const world = JSON.parse(a.json)
  t.ok(world.players.length === 4 && world.agents.length === 3)
})

test('the world stays plain JSON', async (t) => {
  const sim = new Sim(openMap(10, 10), 8)
  sim.join('Hu', 'tok')
  sim.send('createAgent', { descriptionIndex: 0 })
  sim.send('createAgent', { descriptionIndex: 1 })
  let served = 0
  for (let s = 0; s < 30; s++) { sim.advance(1000); served = serveOperations(sim, served) }
  t.strictSame(JSON.parse(JSON.stringify(sim.world)), sim.world)
})
