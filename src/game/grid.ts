// Typed-array views of the map and of where players stand, rebuilt per step or on demand;
// never persisted.
import type { Player, WorldMap } from './types.ts'

export interface StaticGrid {
  width: number
  height: number
  /** 1 where an object tile blocks movement, indexed x + y * width. */
  blocked: Uint8Array
}

export function buildStaticGrid (map: WorldMap): StaticGrid {
  const { width, height } = map
  const blocked = new Uint8Array(width * height)
  for (const layer of map.objectTiles) {
    for (let x = 0; x < width && x < layer.length; x++) {
      const column = layer[x]
      for (let y = 0; y < height && y < column.length; y++) {
        if (column[y] !== -1) blocked[x + y * width] = 1
      }
    }
  }
  return { width, height, blocked }
}

/** Out of bounds or on a blocking object tile (the position's nearest tile). */
export function isStaticBlocked (grid: StaticGrid, x: number, y: number): boolean {
  if (!(x >= 0 && y >= 0 && x <= grid.width - 1 && y <= grid.height - 1)) return true
  return grid.blocked[Math.round(x) + Math.round(y) * grid.width] === 1
}

/**
 * Players bucketed by tile (a counting sort into `items`). Positions are read live from
 * the player array, so a bucket can be a fraction of a tile stale between rebuilds;
 * queries widen their window by `SLACK` to cover it.
 */
export interface SpatialHash {
  width: number
  height: number
  cellStart: Int32Array
  items: Int32Array
  size: number
  /** Per grid point: how many players stand within the collision threshold of it. */
  occupancy: Uint16Array
  /** Players added or teleported since the last rebuild (their buckets may be wrong). */
  extra: number[]
  radius: number
  /**
   * The grid points `occupancy` counts a player at since the last rebuild, so the next one clears just those
   * (a town of a few players touches tens of points on a map of thousands); null when too many to list.
   */
  touched: number[] | null
  /** Few players: the buckets are not built and queries test every player (the same answers, less work). */
  linear: boolean
}

/** Up to this many players a query tests them all instead of building and reading the buckets. */
export const LINEAR_MAX = 32

// Rebuilt every tick and after any teleport (join, conversation snap); between rebuilds a
// walker moves 0.012 tiles per tick, far less than this.
const SLACK = 0.05

export function createSpatialHash (width: number, height: number): SpatialHash {
  return {
    width,
    height,
    cellStart: new Int32Array(width * height + 1),
    items: new Int32Array(64),
    size: 0,
    occupancy: new Uint16Array(width * height),
    extra: [],
    radius: 0.75,
    touched: [],
    linear: false
  }
}

/** Whether a player at (px, py) is within `radius` of grid point (gx, gy). */
export function covers (px: number, py: number, gx: number, gy: number, radius: number): boolean {
  const dx = px - gx
  const dy = py - gy
  return dx * dx + dy * dy < radius * radius
}

function cellOf (hash: SpatialHash, x: number, y: number): number {
  const cx = Math.min(hash.width - 1, Math.max(0, Math.floor(x)))
  const cy = Math.min(hash.height - 1, Math.max(0, Math.floor(y)))
  return cx + cy * hash.width
}

export function rebuildSpatialHash (hash: SpatialHash, players: Player[], radius: number): void {
  const n = players.length
  // Rebuilt every tick: its cost must follow the players, not the map's size.
  hash.linear = n <= LINEAR_MAX
  if (!hash.linear) {
    if (hash.items.length < n) hash.items = new Int32Array(Math.max(n, hash.items.length * 2))
    const start = hash.cellStart
    start.fill(0)
    for (let i = 0; i < n; i++) start[cellOf(hash, players[i].position.x, players[i].position.y) + 1]++
    for (let c = 1; c < start.length; c++) start[c] += start[c - 1]
    const fill = start.slice(0, start.length - 1)
    for (let i = 0; i < n; i++) {
      const c = cellOf(hash, players[i].position.x, players[i].position.y)
      hash.items[fill[c]++] = i
    }
  }
  hash.size = n
  hash.extra.length = 0
  hash.radius = radius
  if (hash.touched === null) hash.occupancy.fill(0)
  else for (const point of hash.touched) hash.occupancy[point] = 0
  hash.touched = []
  for (let i = 0; i < n; i++) occupy(hash, players[i].position, 1)
}

function occupy (hash: SpatialHash, p: { x: number, y: number }, delta: number): void {
  const { radius, occupancy } = hash
  const x0 = Math.max(0, Math.ceil(p.x - radius))
  const x1 = Math.min(hash.width - 1, Math.floor(p.x + radius))
  const y0 = Math.max(0, Math.ceil(p.y - radius))
  const y1 = Math.min(hash.height - 1, Math.floor(p.y + radius))
  for (let gy = y0; gy <= y1; gy++) {
    for (let gx = x0; gx <= x1; gx++) {
      if (!covers(p.x, p.y, gx, gy, radius)) continue
      const point = gx + gy * hash.width
      occupancy[point] += delta
      if (hash.touched === null) continue
      hash.touched.push(point)
      // Past an eighth of the map a full clear is as cheap as the list.
      if (hash.touched.length > occupancy.length >> 3) hash.touched = null
    }
  }
}

/**
 * Records that player `index` appeared at, or jumped to, its current position without a
 * full rebuild. Only valid while no player was removed (indices unchanged). A jump leaves
 * the old spot counted as occupied until the next rebuild: conservative, never negative.
 */
export function notePlayerMoved (hash: SpatialHash, players: Player[], index: number): void {
  occupy(hash, players[index].position, 1)
  hash.extra.push(index)
}

/** Past this many noted players a rebuild is cheaper than scanning them on every query. */
export const MAX_EXTRA = 32

function isNear (
  players: Player[], i: number, x: number, y: number, r2: number,
  skipA: number, skipB: number, from: { x: number, y: number } | undefined
): boolean {
  if (i === skipA || i === skipB) return false
  const p = players[i].position
  const ddx = p.x - x
  const ddy = p.y - y
  const d2 = ddx * ddx + ddy * ddy
  if (d2 >= r2) return false
  if (from !== undefined) {
    const fx = p.x - from.x
    const fy = p.y - from.y
    if (d2 >= fx * fx + fy * fy) return false
  }
  return true
}

/**
 * Index of a player (other than `skipA`/`skipB`) strictly within `radius` of (x, y),
 * or -1. With `onlyIfCloser` a player already nearer to `from` than (x, y) is ignored,
 * so two overlapping players can still separate.
 */
export function findPlayerNear (
  hash: SpatialHash, players: Player[], x: number, y: number, radius: number,
  skipA = -1, skipB = -1, from?: { x: number, y: number }
): number {
  const reach = radius + SLACK
  const x0 = Math.max(0, Math.floor(x - reach))
  const x1 = Math.min(hash.width - 1, Math.floor(x + reach))
  const y0 = Math.max(0, Math.floor(y - reach))
  const y1 = Math.min(hash.height - 1, Math.floor(y + reach))
  const r2 = radius * radius
  if (hash.linear) {
    // Every player, those noted since the rebuild included: the bucket scan's answer, found by testing them all.
    for (let i = 0; i < players.length; i++) if (isNear(players, i, x, y, r2, skipA, skipB, from)) return i
    return -1
  }
  for (const i of hash.extra) if (isNear(players, i, x, y, r2, skipA, skipB, from)) return i
  for (let cy = y0; cy <= y1; cy++) {
    for (let cx = x0; cx <= x1; cx++) {
      const c = cx + cy * hash.width
      for (let k = hash.cellStart[c]; k < hash.cellStart[c + 1]; k++) {
        const i = hash.items[k]
        if (isNear(players, i, x, y, r2, skipA, skipB, from)) return i
      }
    }
  }
  return -1
}
