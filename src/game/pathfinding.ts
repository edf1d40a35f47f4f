// A* over the tile grid, 4-connected. Cost = path length so far + Manhattan distance to
// the destination. Typed-array scratch space is reused across searches in a step and
// reset by generation stamps instead of clearing.
import type { Player, Point } from './types.ts'
import type { SpatialHash, StaticGrid } from './grid.ts'
import { covers } from './grid.ts'
import { COLLISION_THRESHOLD } from './constants.ts'
import { compressPath } from './geometry.ts'

export interface SearchScratch {
  generation: number
  g: Float64Array
  parent: Int32Array
  seen: Uint32Array
  closed: Uint32Array
  heapNodes: Int32Array
  heapKeys: Float64Array
  heapSize: number
}

export function createSearchScratch (width: number, height: number): SearchScratch {
  const n = width * height
  return {
    generation: 0,
    g: new Float64Array(n),
    parent: new Int32Array(n),
    seen: new Uint32Array(n),
    closed: new Uint32Array(n),
    heapNodes: new Int32Array(n * 4 + 8),
    heapKeys: new Float64Array(n * 4 + 8),
    heapSize: 0
  }
}

function heapPush (s: SearchScratch, node: number, key: number): void {
  if (s.heapSize === s.heapNodes.length) {
    const nodes = new Int32Array(s.heapNodes.length * 2)
    nodes.set(s.heapNodes)
    const keys = new Float64Array(s.heapKeys.length * 2)
    keys.set(s.heapKeys)
    s.heapNodes = nodes
    s.heapKeys = keys
  }
  let i = s.heapSize++
  while (i > 0) {
    const up = (i - 1) >> 1
    if (s.heapKeys[up] <= key) break
    s.heapNodes[i] = s.heapNodes[up]
    s.heapKeys[i] = s.heapKeys[up]
    i = up
  }
  s.heapNodes[i] = node
  s.heapKeys[i] = key
}

function heapPop (s: SearchScratch): number {
  const top = s.heapNodes[0]
  const last = --s.heapSize
  const node = s.heapNodes[last]
  const key = s.heapKeys[last]
  let i = 0
  for (;;) {
    let child = 2 * i + 1
    if (child >= last) break
    if (child + 1 < last && s.heapKeys[child + 1] < s.heapKeys[child]) child++
    if (s.heapKeys[child] >= key) break
    s.heapNodes[i] = s.heapNodes[child]
    s.heapKeys[i] = s.heapKeys[child]
    i = child
  }
  s.heapNodes[i] = node
  s.heapKeys[i] = key
  return top
}

/** A wall, or a grid point within the collision threshold of a player other than `me`. */
function isBlocked (grid: StaticGrid, occupancy: Uint16Array, me: Point | undefined, node: number): boolean {
  if (grid.blocked[node] === 1) return true
  const count = occupancy[node]
  if (count === 0) return false
  if (count > 1 || me === undefined) return true
  const x = node % grid.width
  return !covers(me.x, me.y, x, (node - x) / grid.width, COLLISION_THRESHOLD)
}

/**
 * Priority of a node: f = g + h, and among equal f the node nearer the goal, or A* on an
 * open grid expands the whole rectangle between start and goal.
 */
function key (g: number, h: number): number {
  return g + h + h * 1e-6
}

export interface RouteQuery {
  grid: StaticGrid
  hash: SpatialHash
  players: Player[]
  /** Index of the moving player in `players` (ignored for collisions), or -1. */
  self: number
  from: Point
  destination: Point
}

/**
 * Route from `from` towards the integer tile `destination`, as a compressed list of
 * corners starting at `from`. When the destination cannot be reached the route ends at
 * the reachable grid point closest to it. Returns null when no neighbouring grid point
 * is free (the player is boxed in for now).
 */
export function findRoute (q: RouteQuery, s: SearchScratch): Point[] | null {
  const { grid, hash, players, self, from, destination } = q
  const W = grid.width
  const H = grid.height
  s.generation = (s.generation + 1) >>> 0
  if (s.generation === 0) {
    s.seen.fill(0); s.closed.fill(0)
    s.generation = 1
  }
  const gen = s.generation
  s.heapSize = 0

  const occupancy = hash.occupancy
  const me = self === -1 ? undefined : players[self].position
  const dx = destination.x
  const dy = destination.y

  // Seed the open set: the tile we stand on, or the grid points around an off-grid position.
  const xs = Math.floor(from.x) === from.x ? [from.x] : [Math.floor(from.x), Math.ceil(from.x)]
  const ys = Math.floor(from.y) === from.y ? [from.y] : [Math.floor(from.y), Math.ceil(from.y)]
  const onGrid = xs.length === 1 && ys.length === 1
  for (const x of xs) {
    for (const y of ys) {
      if (x < 0 || y < 0 || x >= W || y >= H) continue
      const node = x + y * W
      if (!onGrid && isBlocked(grid, occupancy, me, node)) continue
      const g = Math.hypot(x - from.x, y - from.y)
      s.g[node] = g
      s.parent[node] = -1
      s.seen[node] = gen
      heapPush(s, node, key(g, Math.abs(x - dx) + Math.abs(y - dy)))
    }
  }

  let best = -1
  let bestDist = Infinity
  let bestG = Infinity
  const goal = dx >= 0 && dy >= 0 && dx < W && dy < H ? dx + dy * W : -1
  // With the goal itself blocked (say, someone stands there) a neighbour of it is as close
  // as we can get: stop there instead of exploring the whole map.
  const goalBlocked = goal === -1 || isBlocked(grid, occupancy, me, goal)
  while (s.heapSize > 0) {
    const node = heapPop(s)
    if (s.closed[node] === gen) continue
    s.closed[node] = gen
    const x = node % W
    const y = (node - x) / W
    const g = s.g[node]
    const d = (x - dx) * (x - dx) + (y - dy) * (y - dy)
    if (d < bestDist || (d === bestDist && g < bestG)) {
      best = node
      bestDist = d
      bestG = g
    }
    if (node === goal || (goalBlocked && d <= 1)) break
    for (let k = 0; k < 4; k++) {
      const nx = k === 0 ? x + 1 : k === 1 ? x - 1 : x
      const ny = k === 2 ? y + 1 : k === 3 ? y - 1 : y
      if (nx < 0 || ny < 0 || nx >= W || ny >= H) continue
      const next = nx + ny * W
      if (s.closed[next] === gen || isBlocked(grid, occupancy, me, next)) continue
      const ng = g + 1
      if (s.seen[next] === gen && s.g[next] <= ng) continue
      s.seen[next] = gen
      s.g[next] = ng
      s.parent[next] = node
      heapPush(s, next, key(ng, Math.abs(nx - dx) + Math.abs(ny - dy)))
    }
  }
  if (best === -1) return null

  const corners: Point[] = []
  for (let node = best; node !== -1; node = s.parent[node]) {
    const x = node % W
    corners.push({ x, y: (node - x) / W })
  }
  corners.reverse()
  if (corners[0].x !== from.x || corners[0].y !== from.y) corners.unshift({ x: from.x, y: from.y })
  return compressPath(corners)
}
