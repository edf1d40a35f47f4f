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
  t.same(r.historicalLocations, [], 'players who joined and stood still have no location history')
  const r2 = simulateStep(ctx, [inputs[3]], { from: r.currentTime, to: T0 + 6000 })
  t.same(r2.results.map((x) => x.number), [4])
})

test('the step\'s location history holds the players who moved, from where they were before it', async (t) => {
  const sim = new Sim(openMap(12, 12))
  const walker = sim.join('Walker', 'tok1')
  sim.join('Sitter', 'tok2')
  sim.advance(1000)
  const start = { ...sim.world.players.find((p) => p.id === walker)!.position }
  const destination = { x: start.x < 6 ? start.x + 4 : start.x - 4, y: start.y }
  sim.send('moveTo', { playerId: walker, destination })
  sim.advance(1000)
  const r = sim.steps.at(-1)!
  t.same(r.historicalLocations.map((e) => e.playerId), [walker], 'only the walker has an entry')
  const { history } = unpackLocationHistory(r.historicalLocations)[0]!
  t.equal(history.x!.initialValue, Math.floor(start.x * 256) / 256, 'x starts where the step found the walker')
  t.equal(history.y, undefined, 'a walk along a row never changes y')
  const samples = history.x!.samples
  t.ok(samples.length > 50, `a sample per tick while walking (${samples.length})`)
  t.ok(samples.every((s, i) => i === 0 || s.time - samples[i - 1]!.time === 16), 'at tick times')
  const now = sim.world.players.find((p) => p.id === walker)!
  const last = samples.at(-1)!.value
  t.ok(now.position.x - last >= 0 && now.position.x - last < 1 / 256, 'the last sample is the position the step ended at')
  t.equal(history.speed!.samples[0]!.value, 0.75, 'speed 0.75 tiles/s once walking')
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

function runTown (seed: number): { json: string, bytes: Array<Array<Array<string | number>>>, conversations: number, messages: number } {
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
    bytes: sim.steps.map((r) => r.historicalLocations.map((e) => [e.playerId, ...e.location])),
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
