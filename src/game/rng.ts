// A small seeded PRNG (sfc32) whose whole state is four unsigned 32-bit words kept in
// the world document, so a world replays identically from the same inputs.

export type RngState = [number, number, number, number]

// Spread any seed (number or string) over four words, then discard a few outputs so
// nearby seeds do not start with correlated values.
export function createRng (seed: number | string): RngState {
  const text = String(seed)
  let h = (0x811c9dc5 ^ text.length) >>> 0
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  }
  const words: number[] = []
  for (let i = 0; i < 4; i++) {
    // splitmix32 finaliser over a running counter
    h = (h + 0x9e3779b9) >>> 0
    let z = h
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    words.push((z ^ (z >>> 16)) >>> 0)
  }
  const state: RngState = [words[0], words[1], words[2], words[3]]
  for (let i = 0; i < 12; i++) nextUint32(state)
  return state
}

/** Advances the state in place and returns an unsigned 32-bit integer. */
export function nextUint32 (state: RngState): number {
  let a = state[0] | 0
  const b = state[1] | 0
  let c = state[2] | 0
  let d = state[3] | 0
  const t = (((a + b) | 0) + d) | 0
  d = (d + 1) | 0
  a = b ^ (b >>> 9)
  const nb = (c + (c << 3)) | 0
  c = (((c << 21) | (c >>> 11)) + t) | 0
  state[0] = a >>> 0
  state[1] = nb >>> 0
  state[2] = c >>> 0
  state[3] = d >>> 0
  return t >>> 0
}

/** A float in [0, 1). */
export function nextFloat (state: RngState): number {
  return nextUint32(state) / 4294967296
}

/** An integer in [0, n). */
export function nextInt (state: RngState, n: number): number {
  return Math.floor(nextFloat(state) * n)
}

export function pick<T> (state: RngState, items: readonly T[]): T {
  return items[nextInt(state, items.length)]
}

/** A version-4 shaped UUID drawn from the seeded source (deterministic on replay). */
export function nextUuid (state: RngState): string {
  let hex = ''
  for (let i = 0; i < 4; i++) hex += nextUint32(state).toString(16).padStart(8, '0')
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

export function isRngState (value: unknown): value is RngState {
  return Array.isArray(value) && value.length === 4 &&
    value.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)
}
