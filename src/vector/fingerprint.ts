/**
 * An order-independent checksum of a set of ids: the count plus two 32-bit sums of per-id hashes.
 * A store computes it over its memory ids with `fingerprintOfIds`; the index keeps it up to date
 * incrementally, so comparing the two tells whether the persisted index still matches the store.
 */
export function fingerprintOfIds (ids: Iterable<string>): string {
  const acc = new FingerprintAccumulator()
  for (const id of ids) acc.add(id)
  return acc.value()
}

export class FingerprintAccumulator {
  count = 0
  private sumA = 0
  private sumB = 0

  add (id: string): void {
    this.count++
    this.sumA = (this.sumA + hash(id, 0x811c9dc5)) >>> 0
    this.sumB = (this.sumB + hash(id, 0x01000193)) >>> 0
  }

  delete (id: string): void {
    this.count--
    this.sumA = (this.sumA - hash(id, 0x811c9dc5)) >>> 0
    this.sumB = (this.sumB - hash(id, 0x01000193)) >>> 0
  }

  clear (): void {
    this.count = 0
    this.sumA = 0
    this.sumB = 0
  }

  value (): string {
    return `${this.count}:${this.sumA.toString(16).padStart(8, '0')}${this.sumB.toString(16).padStart(8, '0')}`
  }
}

// FNV-1a over UTF-16 code units with a final avalanche so sums of similar ids do not cancel.
function hash (s: string, seed: number): number {
  let h = seed >>> 0
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
