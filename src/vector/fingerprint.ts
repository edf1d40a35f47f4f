import { hashString as hash } from '../hash.ts'

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
