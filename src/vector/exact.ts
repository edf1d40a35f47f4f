import { dotAt, normalized, normalizeInto, TopK } from './math.ts'
import { assertDimension, ownerKey } from './types.ts'
import type { MemoryVector, MemoryVectorIndex, VectorHit } from './types.ts'

/**
 * One player's vectors, unit length, in one contiguous Float32Array (row = slot).
 * Removal moves the last row into the hole, so the live rows stay dense for the scan.
 */
export class ExactBlock {
  data: Float32Array
  ids: string[] = []
  private readonly slotOf = new Map<string, number>()

  constructor (readonly dimension: number, capacity = 16) {
    this.data = new Float32Array(Math.max(1, capacity) * dimension)
  }

  get count (): number {
    return this.ids.length
  }

  has (id: string): boolean {
    return this.slotOf.has(id)
  }

  /** Stores `embedding` normalised; returns true when the id is new to the block. */
  upsert (id: string, embedding: Float32Array): boolean {
    const existing = this.slotOf.get(id)
    if (existing !== undefined) {
      normalizeInto(embedding, this.data, existing * this.dimension)
      return false
    }
    this.appendUnit(id, embedding, false)
    return true
  }

  /** Appends an already unit-length row (used when loading or moving blocks). */
  appendUnit (id: string, row: Float32Array, isUnit = true): void {
    const slot = this.ids.length
    if ((slot + 1) * this.dimension > this.data.length) this.grow(Math.max(16, slot * 2))
    if (isUnit) this.data.set(row, slot * this.dimension)
    else normalizeInto(row, this.data, slot * this.dimension)
    this.ids.push(id)
    this.slotOf.set(id, slot)
  }

  remove (id: string): boolean {
    const slot = this.slotOf.get(id)
    if (slot === undefined) return false
    const last = this.ids.length - 1
    if (slot !== last) {
      const d = this.dimension
      this.data.copyWithin(slot * d, last * d, (last + 1) * d)
      const moved = this.ids[last]
      this.ids[slot] = moved
      this.slotOf.set(moved, slot)
    }
    this.ids.pop()
    this.slotOf.delete(id)
    // Give memory back once the block is mostly empty.
    if (this.data.length > 64 * this.dimension && this.ids.length * 4 < this.data.length / this.dimension) {
      this.grow(this.ids.length * 2)
    }
    return true
  }

  row (slot: number): Float32Array {
    return this.data.subarray(slot * this.dimension, (slot + 1) * this.dimension)
  }

  /** Scans every row; `unitQuery` must already be normalised. */
  search (unitQuery: Float32Array, k: number): VectorHit[] {
    const n = this.ids.length
    const top = new TopK(Math.min(k, n))
    const d = this.dimension
    const data = this.data
    let floor = -Infinity
    for (let slot = 0, offset = 0; slot < n; slot++, offset += d) {
      const score = dotAt(unitQuery, data, offset)
      if (score > floor) {
        top.push(slot, score)
        floor = top.floor
      }
    }
    const hits: VectorHit[] = new Array(top.length)
    for (let i = 0; i < top.length; i++) hits[i] = { id: this.ids[top.slots[i]], score: top.scores[i] }
    return hits
  }

  /** Shrinks the backing array to fit, e.g. before persisting. */
  compact (): void {
    if (this.data.length !== this.ids.length * this.dimension) this.grow(this.ids.length)
  }

  private grow (capacity: number): void {
    const next = new Float32Array(Math.max(1, capacity) * this.dimension)
    next.set(this.data.subarray(0, this.ids.length * this.dimension))
    this.data = next
  }
}

export interface ExactIndexOptions {
  dimension: number
}

/** Brute-force cosine search per player of a world: the correctness reference, and fast enough for small worlds. */
export function createExactIndex (opts: ExactIndexOptions): MemoryVectorIndex {
  const { dimension } = opts
  /** By `ownerKey(worldId, playerId)`. */
  const players = new Map<string, ExactBlock>()
  const playerOf = new Map<string, string>()

  function removeOne (id: string): void {
    const playerId = playerOf.get(id)
    if (playerId === undefined) return
    const block = players.get(playerId)
    if (block !== undefined) {
      block.remove(id)
      if (block.count === 0) players.delete(playerId)
    }
    playerOf.delete(id)
  }

  return {
    kind: 'exact',

    async upsert (items: MemoryVector[]): Promise<void> {
      for (const item of items) assertDimension(item.embedding, dimension)
      for (const { id, worldId, playerId: player, embedding } of items) {
        const playerId = ownerKey(worldId, player)
        const previous = playerOf.get(id)
        if (previous !== undefined && previous !== playerId) removeOne(id)
        let block = players.get(playerId)
        if (block === undefined) {
          block = new ExactBlock(dimension)
          players.set(playerId, block)
        }
        block.upsert(id, embedding)
        playerOf.set(id, playerId)
      }
    },

    async remove (ids: string[]): Promise<void> {
      for (const id of ids) removeOne(id)
    },

    async search (worldId: string, playerId: string, query: Float32Array, k: number): Promise<VectorHit[]> {
      assertDimension(query, dimension)
      const block = players.get(ownerKey(worldId, playerId))
      if (block === undefined || k <= 0) return []
      return block.search(normalized(query), k)
    },

    size (): number {
      return playerOf.size
    },

    async flush (): Promise<void> {},

    async close (): Promise<void> {
      players.clear()
      playerOf.clear()
    }
  }
}
