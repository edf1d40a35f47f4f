/** Copies `src` into `dst` at `offset` scaled to unit length; a zero vector stays zero. */
export function normalizeInto (src: Float32Array, dst: Float32Array, offset: number): void {
  let sum = 0
  for (let i = 0; i < src.length; i++) sum += src[i] * src[i]
  const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0
  for (let i = 0; i < src.length; i++) dst[offset + i] = src[i] * scale
}

export function normalized (src: Float32Array): Float32Array {
  const out = new Float32Array(src.length)
  normalizeInto(src, out, 0)
  return out
}

/** Dot product of `q` with the row of `data` starting at `offset`; unrolled because it is the whole cost of an exact scan. */
export function dotAt (q: Float32Array, data: Float32Array, offset: number): number {
  const d = q.length
  let s0 = 0; let s1 = 0; let s2 = 0; let s3 = 0
  let i = 0
  for (; i + 3 < d; i += 4) {
    s0 += q[i] * data[offset + i]
    s1 += q[i + 1] * data[offset + i + 1]
    s2 += q[i + 2] * data[offset + i + 2]
    s3 += q[i + 3] * data[offset + i + 3]
  }
  for (; i < d; i++) s0 += q[i] * data[offset + i]
  return (s0 + s1) + (s2 + s3)
}

/** Keeps the k highest scores seen, sorted best first; k is small (tens), so insertion beats a heap. */
export class TopK {
  readonly slots: Int32Array
  readonly scores: Float64Array
  length = 0

  constructor (readonly k: number) {
    this.slots = new Int32Array(k)
    this.scores = new Float64Array(k)
  }

  /** The score a candidate must beat to enter. */
  get floor (): number {
    return this.length < this.k ? -Infinity : this.scores[this.k - 1]
  }

  push (slot: number, score: number): void {
    if (this.k === 0) return
    if (this.length === this.k && score <= this.scores[this.k - 1]) return
    let i = this.length < this.k ? this.length++ : this.k - 1
    while (i > 0 && this.scores[i - 1] < score) {
      this.scores[i] = this.scores[i - 1]
      this.slots[i] = this.slots[i - 1]
      i--
    }
    this.scores[i] = score
    this.slots[i] = slot
  }
}
