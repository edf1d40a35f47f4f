/**
 * Seeded, clustered synthetic embeddings for the vector tests and bench (no downloads).
 * Each player owns a few topic clusters; a memory is its cluster centre plus a low-rank spread
 * (real embeddings vary along few directions) plus a little isotropic noise.
 */

/** mulberry32: small, fast, good enough for test data. */
export function createRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function createGaussian (random: () => number): () => number {
  let spare: number | undefined
  return () => {
    if (spare !== undefined) {
      const s = spare
      spare = undefined
      return s
    }
    const u = 1 - random()
    const v = random()
    const r = Math.sqrt(-2 * Math.log(u))
    spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
}

/** A fixed table of standard normal samples; per-coordinate noise is read from it with a random start and stride (much cheaper than Box-Muller per coordinate). */
const NOISE_SIZE = 1 << 16
const NOISE: Float32Array = (() => {
  const gaussian = createGaussian(createRandom(0x5eed))
  return Float32Array.from({ length: NOISE_SIZE }, () => gaussian())
})()

export interface ClusterShape {
  dimension: number
  /** Topic clusters per player. */
  clusters: number
  /** Directions a cluster spreads along. */
  rank: number
  /** Length of the spread relative to the (unit) centre. */
  spread: number
  /** Length of the isotropic noise. */
  noise: number
}

export const defaultShape = (dimension: number): ClusterShape => ({ dimension, clusters: 16, rank: 16, spread: 0.6, noise: 0.35 })

interface Cluster { centre: Float32Array, basis: Float32Array[] }

/** One player's generator; deterministic in (seed, playerIndex) whatever order players are built in. */
export class SyntheticPlayer {
  private readonly random: () => number
  private readonly gaussian: () => number
  private readonly clusters: Cluster[] = []

  constructor (readonly shape: ClusterShape, seed: number, playerIndex: number) {
    this.random = createRandom((seed ^ Math.imul(playerIndex + 1, 0x9e3779b1)) >>> 0)
    this.gaussian = createGaussian(this.random)
    const { dimension, clusters, rank, spread } = shape
    for (let c = 0; c < clusters; c++) {
      const centre = this.vector(1 / Math.sqrt(dimension))
      const basis: Float32Array[] = []
      for (let r = 0; r < rank; r++) basis.push(this.vector(spread / Math.sqrt(dimension * rank)))
      this.clusters.push({ centre, basis })
    }
  }

  /** A memory embedding drawn from a random cluster of this player. */
  memory (): Float32Array {
    return this.draw(1, this.shape.noise)
  }

  /** A query near one of this player's cluster centres. */
  query (): Float32Array {
    return this.draw(0.5, this.shape.noise)
  }

  private draw (spreadScale: number, noise: number): Float32Array {
    const { dimension } = this.shape
    const cluster = this.clusters[Math.floor(this.random() * this.clusters.length)]
    const out = new Float32Array(cluster.centre)
    for (const b of cluster.basis) {
      const a = this.gaussian() * spreadScale
      for (let i = 0; i < dimension; i++) out[i] += a * b[i]
    }
    const sigma = noise / Math.sqrt(dimension)
    const mask = NOISE_SIZE - 1
    let at = Math.floor(this.random() * NOISE_SIZE)
    const stride = (Math.floor(this.random() * (NOISE_SIZE >> 1)) << 1) | 1
    for (let i = 0; i < dimension; i++) {
      out[i] += NOISE[at] * sigma
      at = (at + stride) & mask
    }
    return out
  }

  private vector (sigma: number): Float32Array {
    const v = new Float32Array(this.shape.dimension)
    for (let i = 0; i < v.length; i++) v[i] = this.gaussian() * sigma
    return v
  }
}

export function recallAt (truth: Array<{ id: string }>, found: Array<{ id: string }>): number {
  if (truth.length === 0) return 1
  const want = new Set(truth.map(h => h.id))
  let hit = 0
  for (const h of found) if (want.has(h.id)) hit++
  return hit / truth.length
}
