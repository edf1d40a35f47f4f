import { test } from 'tap'
import { buildStaticGrid, createSpatialHash, rebuildSpatialHash } from '../../src/game/grid.ts'
import { createSearchScratch, findRoute } from '../../src/game/pathfinding.ts'
import { compressPath } from '../../src/game/geometry.ts'
import type { Player, Point, WorldMap } from '../../src/game/types.ts'
import { Sim, mapFromRows, openMap } from './helpers.ts'

function route (map: WorldMap, from: Point, destination: Point, others: Point[] = []): Point[] | null {
  const grid = buildStaticGrid(map)
  const players: Player[] = [from, ...others].map((position, i) => ({
    id: `p:${i}`, lastInput: 0, position, facing: { dx: 1, dy: 0 }, speed: 0
  }))
  const hash = createSpatialHash(map.width, map.height)
  rebuildSpatialHash(hash, players, 0.75)
  return findRoute({ grid, hash, players, self: 0, from, destination }, createSearchScratch(map.width, map.height))
}

function length (path: Point[]): number {
  let d = 0
  for (let i = 1; i < path.length; i++) d += Math.abs(path[i].x - path[i - 1].x) + Math.abs(path[i].y - path[i - 1].y)
  return d
}

const WALL = mapFromRows([
  '........',
  '...#....',
  '...#....',
  '...#....',
  '........'
])

test('A* finds a shortest route around a wall, compressed to its corners', async (t) => {
  const path = route(WALL, { x: 1, y: 2 }, { x: 6, y: 2 })!
  t.ok(path)
  t.same(path[0], { x: 1, y: 2 })
  t.same(path[path.length - 1], { x: 6, y: 2 })
  t.equal(length(path), 9, 'around the wall: 5 across + 2 up + 2 down')
  for (let i = 1; i < path.length - 1; i++) {
    const a = path[i - 1]; const b = path[i]; const c = path[i + 1]
    const cross = (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x)
    t.not(cross, 0, 'no collinear corner left in the path')
  }
})

test('straight line compresses to two points', async (t) => {
  const path = route(openMap(10, 3), { x: 0, y: 1 }, { x: 9, y: 1 })!
  t.same(path, [{ x: 0, y: 1 }, { x: 9, y: 1 }])
  t.same(compressPath([{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 2, y: 0 }, { x: 2, y: 1 }]), [{ x: 0, y: 0 }, { x: 2, y: 0 }, { x: 2, y: 1 }])
})

test('an off-grid start first steps to a neighbouring grid point', async (t) => {
  const path = route(openMap(6, 6), { x: 1.4, y: 2 }, { x: 4, y: 2 })!
  t.same(path[0], { x: 1.4, y: 2 })
  t.same(path[path.length - 1], { x: 4, y: 2 })
  t.equal(path.length, 2, 'moving along the row: straight on')
  const back = route(openMap(6, 6), { x: 1.4, y: 2.5 }, { x: 0, y: 0 })!
  t.same(back[0], { x: 1.4, y: 2.5 })
  t.ok(Number.isInteger(back[1].x) && Number.isInteger(back[1].y), 'second point is a grid point')
  t.ok(Math.abs(back[1].x - 1.4) < 1 && Math.abs(back[1].y - 2.5) < 1, 'and a neighbouring one')
})

test('unreachable destination routes to the closest reachable point', async (t) => {
  const boxed = mapFromRows([
    '....#..',
    '....#..',
    '....#..'
  ])
  const path = route(boxed, { x: 0, y: 1 }, { x: 6, y: 1 })!
  t.same(path, [{ x: 0, y: 1 }, { x: 3, y: 1 }], 'stops at the wall, as close as it gets')
  const blockedGoal = route(openMap(5, 5), { x: 0, y: 0 }, { x: 4, y: 4 }, [{ x: 4, y: 4 }])!
  const end = blockedGoal[blockedGoal.length - 1]
  t.equal(Math.abs(end.x - 4) + Math.abs(end.y - 4), 1, 'a goal occupied by a player: stop beside it')
})

test('another player blocks tiles within 0.75', async (t) => {
  const corridor = mapFromRows([
    '.....',
    '.....',
    '.....'
  ])
  const direct = route(corridor, { x: 0, y: 1 }, { x: 4, y: 1 })!
  t.equal(length(direct), 4)
  const detour = route(corridor, { x: 0, y: 1 }, { x: 4, y: 1 }, [{ x: 2, y: 1 }])!
  t.equal(length(detour), 6, 'has to step around the player in the middle')
  const near = route(corridor, { x: 0, y: 1 }, { x: 4, y: 1 }, [{ x: 2.3, y: 1.5 }])!
  t.equal(length(near), 6, 'a player 0.58 away from (2,1) blocks it')
  const far = route(corridor, { x: 0, y: 1 }, { x: 4, y: 1 }, [{ x: 2, y: 0.2 }])!
  t.equal(length(far), 4, 'a player 0.8 away does not block the row')
})

test('a player walks at 0.75 tiles/s and arrives', async (t) => {
  const sim = new Sim(openMap(12, 5))
  const p = sim.join('Walker')
  sim.place(p, 1, 2)
  t.same(sim.input('moveTo', { playerId: p, destination: { x: 7, y: 2 } }), { kind: 'ok', value: null })
  sim.advance(4000 - 16)
  const mid = sim.player(p)
  t.ok(Math.abs(mid.position.x - 4) < 0.05, `after 4 s x≈4, got ${mid.position.x}`)
  t.equal(mid.speed, 0.75)
  t.same(mid.facing, { dx: 1, dy: 0 })
  sim.advance(4100)
  t.same(sim.player(p).position, { x: 7, y: 2 })
  t.equal(sim.player(p).speed, 0)
  t.notOk(sim.player(p).pathfinding, 'pathfinding cleared on arrival')
})

test('collision: wait up to 1 s, then re-plan around the obstacle', async (t) => {
  const sim = new Sim(openMap(10, 5), 3)
  const walker = sim.join('Walker')
  const blocker = sim.join('Blocker')
  sim.place(walker, 1, 2)
  sim.place(blocker, 8, 2)
  sim.ok('moveTo', { playerId: walker, destination: { x: 8, y: 2 } })
  sim.place(blocker, 5, 2) // step into the planned route after it was planned
  let waited = false
  let waitUntil = 0
  for (let i = 0; i < 400 && !waited; i++) {
    sim.advance(16)
    const state = sim.player(walker).pathfinding?.state
    if (state?.kind === 'waiting') { waited = true; waitUntil = state.until }
  }
  t.ok(waited, 'walker backs off when the next position is within 0.75 of the blocker')
  t.ok(waitUntil - sim.time <= 1000 && waitUntil >= sim.time - 16, 'backoff is at most 1 s')
  t.equal(sim.player(walker).speed, 0)
  t.ok(sim.player(walker).position.x < 4.26, 'never got within 0.75 of the blocker')
  sim.advance(20_000)
  const end = sim.player(walker).position
  t.notOk(sim.player(walker).pathfinding, 'reached the goal after re-planning')
  t.same(end, { x: 8, y: 2 })
})

test('pathfinding gives up after 60 s', async (t) => {
  const sim = new Sim(openMap(5, 5))
  const p = sim.join()
  sim.place(p, 0, 0)
  sim.ok('moveTo', { playerId: p, destination: { x: 4, y: 4 } })
  sim.player(p).pathfinding!.state = { kind: 'waiting', until: Number.MAX_SAFE_INTEGER }
  sim.advance(59_000)
  t.ok(sim.player(p).pathfinding, 'still trying at 59 s')
  sim.advance(1_100)
  t.notOk(sim.player(p).pathfinding, 'gave up after 60 s')
})

test('route search cap: oldest requests first, waits are reported', async (t) => {
  const sim = new Sim(openMap(20, 20), 5)
  sim.routeBudget = 2
  const ids: string[] = []
  for (let i = 0; i < 6; i++) {
    const id = sim.join(`P${i}`)
    sim.place(id, i * 3, 0)
    ids.push(id)
  }
  for (const id of ids) sim.send('moveTo', { playerId: id, destination: { x: sim.player(id).position.x, y: 19 } })
  sim.advance(1000)
  const first = sim.steps[sim.steps.length - 1]
  t.equal(first.stats.routeSearches, 2)
  t.equal(first.stats.agentsWaitingForPath, 4)
  sim.advance(1000)
  sim.advance(1000)
  const third = sim.steps[sim.steps.length - 1]
  t.ok(third.stats.maxPathWaitMs >= 1900, `the last served waited about two steps (${third.stats.maxPathWaitMs})`)
  t.equal(ids.filter((id) => sim.player(id).pathfinding?.state.kind === 'needsPath').length, 0, 'everyone served after 3 steps')
})
