// Order-independent checksums of a collection's documents, equal on both stores for equal content:
// each document is hashed over a canonical binary form (keys sorted, -0 as 0, undefined fields absent,
// binary as bytes) and the per-document hashes are summed, so the order documents are read in never matters.
import { hash } from 'node:crypto'

const MASK = (1n << 64n) - 1n

/** Grows as needed; reused across documents so hashing allocates little. */
class CanonicalWriter {
  buf = Buffer.allocUnsafe(64 * 1024)
  len = 0
  scratch = new Float64Array(1024)

  reserve (n: number): void {
    if (this.len + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(next, 0, 0, this.len)
    this.buf = next
  }

  tag (t: number, n: number): void {
    this.reserve(5)
    this.buf[this.len] = t
    this.buf.writeUInt32LE(n, this.len + 1)
    this.len += 5
  }

  number (x: number): void {
    this.reserve(9)
    this.buf[this.len] = 0x64 // d
    this.buf.writeDoubleLE(x === 0 ? 0 : x, this.len + 1)
    this.len += 9
  }

  bytes (t: number, data: Uint8Array): void {
    this.tag(t, data.byteLength)
    this.reserve(data.byteLength)
    this.buf.set(data, this.len)
    this.len += data.byteLength
  }

  string (s: string): void {
    const max = Buffer.byteLength(s)
    this.tag(0x73, max) // s
    this.reserve(max)
    this.len += this.buf.write(s, this.len)
  }

  /** An array of 16+ numbers as its float64 bytes (tag F, -0 as 0); false when it holds anything else. */
  numbers (v: unknown[]): boolean {
    const n = v.length
    // One reused scratch array, filled and checked in one pass: an embedding allocates nothing here.
    if (this.scratch.length < n) this.scratch = new Float64Array(n)
    const f = this.scratch
    for (let i = 0; i < n; i++) {
      const x = v[i]
      if (typeof x !== 'number') return false
      f[i] = x === 0 ? 0 : x
    }
    this.bytes(0x46, new Uint8Array(f.buffer, 0, n * 8)) // F
    return true
  }

  /** A Float64Array as `numbers` writes an array of them: tag F, its bytes, -0 as 0. */
  float64s (v: Float64Array): void {
    const n = v.length
    this.tag(0x46, n * 8)
    this.reserve(n * 8)
    const at = this.len
    this.buf.set(new Uint8Array(v.buffer, v.byteOffset, n * 8), at)
    this.len += n * 8
    // -0 (sign bit alone) becomes 0: rare, so looked for after the copy.
    for (let i = 0; i < n; i++) if (v[i] === 0) this.buf.writeDoubleLE(0, at + i * 8)
  }

  value (v: unknown): void {
    if (v === null) { this.tag(0x6e, 0); return } // n
    switch (typeof v) {
      case 'number': this.number(v); return
      case 'string': this.string(v); return
      case 'boolean': this.tag(v ? 0x74 : 0x66, 0); return // t / f
      case 'bigint': this.string(`${v}n`); return
      case 'object': break
      default: throw new TypeError(`cannot checksum a ${typeof v}`)
    }
    if (v instanceof Float64Array) {
      // An array of numbers, as the stores write it (the import's embeddings): hashed as the array would be.
      if (v.length >= 16) this.float64s(v)
      else {
        this.tag(0x61, v.length)
        for (const x of v) this.number(x)
      }
      return
    }
    if (ArrayBuffer.isView(v)) {
      this.bytes(0x62, new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) // b
      return
    }
    if (Array.isArray(v)) {
      if (v.length >= 16 && typeof v[0] === 'number' && this.numbers(v)) return
      this.tag(0x61, v.length) // a (elements one by one)
      for (const item of v) this.value(item === undefined ? null : item)
      return
    }
    const obj = v as Record<string, unknown>
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort()
    this.tag(0x6f, keys.length) // o
    for (const key of keys) {
      this.string(key)
      this.value(obj[key])
    }
  }
}

/** The checksum of a set of documents: their count and the sum of their hashes (hex). */
export interface Checksum {
  documents: number
  checksum: string
}

export class CollectionChecksum {
  #sum = 0n
  #count = 0
  readonly #writer = new CanonicalWriter()

  /** The document's own hash (hex, 16 digits). */
  add (doc: unknown): string {
    const w = this.#writer
    w.len = 0
    w.value(doc)
    // One-shot hashing: no Hash object per document to create and collect.
    const digest = hash('sha256', w.buf.subarray(0, w.len), 'buffer')
    this.#sum = (this.#sum + digest.readBigUInt64BE(0)) & MASK
    this.#count++
    return digest.toString('hex', 0, 8)
  }

  result (): Checksum {
    return { documents: this.#count, checksum: this.#sum.toString(16).padStart(16, '0') }
  }
}
