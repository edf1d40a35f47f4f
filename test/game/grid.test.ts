import { test } from 'tap'
import { covers, createSpatialHash, findPlayerNear, LINEAR_MAX, notePlayerMoved, rebuildSpatialHash } from '../../src/game/grid.ts'
import { createRng, nextFloat } from '../../src/game/rng.ts'
import type { Player } from '../../src/game/types.ts'

const RADIUS = 0.75

function players (n: number, width: number, height: number, seed: string): Player[] {
  const rng = createRng(seed)
  return Array.from({ length: n }, (_, i) => ({
    id: `p:${i}`, lastInput: 0, position: { x: nextFloat(rng) * (width - 1), y: nextFloat(rng) * (height - 1) }, facing: { dx: 1, dy: 0 }, speed: 0
  }))
}

/** What the occupancy grid must hold: for each grid point, the players within the radius of it. */
function expectedOccupancy (all: Player[], width: number, height: number): number[] {
  const out = new Array<number>(width * height).fill(0)
  for (const p of all) for (let gy = 0; gy < height; gy++) for (let gx = 0; gx < width; gx++) if (covers(p.position.x, p.position.y, gx, gy, RADIUS)) out[gx + gy * width]!++
  return out
}

function nearAny (all: Player[], x: number, y: number): boolean {
  return all.some((p) => (p.position.x - x) ** 2 + (p.position.y - y) ** 2 < RADIUS * RADIUS)
}

test('the spatial hash answers as a scan of every player would, with few players (no buckets) and with many', async (t) => {
  for (const [n, width, height] of [[8, 64, 48], [LINEAR_MAX, 64, 48], [200, 64, 48], [12, 6, 5]] as const) {
    const hash = createSpatialHash(width, height)
    const all = players(n, width, height, `grid-${n}-${width}`)
    const rng = createRng(`queries-${n}`)
    for (let round = 0; round < 3; round++) {
      rebuildSpatialHash(hash, all, RADIUS)
      t.equal(hash.linear, n <= LINEAR_MAX, `${n} players: ${hash.linear ? 'no buckets' : 'buckets'}`)
      t.same([...hash.occupancy], expectedOccupancy(all, width, height), `${n} players on ${width}×${height}, round ${round}: occupancy exact after the rebuild`)
      let mismatches = 0
      for (let q = 0; q < 500; q++) {
        const x = nextFloat(rng) * (width - 1)
        const y = nextFloat(rng) * (height - 1)
        if ((findPlayerNear(hash, all, x, y, RADIUS) !== -1) !== nearAny(all, x, y)) mismatches++
      }
      t.equal(mismatches, 0, `${n} players, round ${round}: 500 queries agree with the scan`)
      // Everyone moves; one more joins at a spot of its own without a rebuild, and is found at once.
      for (const p of all) p.position = { x: Math.min(width - 1, p.position.x + nextFloat(rng) * 3), y: Math.max(0, p.position.y - nextFloat(rng) * 3) }
      rebuildSpatialHash(hash, all, RADIUS)
      all.push({ id: `p:${all.length}`, lastInput: 0, position: { x: 0.2, y: 0.3 }, facing: { dx: 1, dy: 0 }, speed: 0 })
      notePlayerMoved(hash, all, all.length - 1)
      t.not(findPlayerNear(hash, all, 0.4, 0.4, RADIUS), -1, `${n} players, round ${round}: a player noted since the rebuild is found`)
      t.same([...hash.occupancy], expectedOccupancy(all, width, height), 'and counted in the occupancy')
      all.pop()
    }
  }
})
