// xxHash32 (Yann Collet's spec, XXH32): AI Town stamps each packed location history with the hash of
// its field configuration, so a client rejects history packed for other fields.

const P1 = 0x9e3779b1
const P2 = 0x85ebca77
const P3 = 0xc2b2ae3d
const P4 = 0x27d4eb2f
const P5 = 0x165667b1

function rotl (v: number, r: number): number {
  return (v << r) | (v >>> (32 - r))
}

function lane (acc: number, word: number): number {
  return Math.imul(rotl((acc + Math.imul(word, P2)) | 0, 13), P1)
}

function word32 (bytes: Uint8Array, i: number): number {
  return bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)
}

/** The 32-bit xxHash of `bytes`, as an unsigned integer. */
export function xxHash32 (bytes: Uint8Array, seed = 0): number {
  const n = bytes.length
  let i = 0
  let h: number
  if (n >= 16) {
    let a1 = (seed + P1 + P2) | 0
    let a2 = (seed + P2) | 0
    let a3 = seed | 0
    let a4 = (seed - P1) | 0
    for (; i + 16 <= n; i += 16) {
      a1 = lane(a1, word32(bytes, i))
      a2 = lane(a2, word32(bytes, i + 4))
      a3 = lane(a3, word32(bytes, i + 8))
      a4 = lane(a4, word32(bytes, i + 12))
    }
    h = (rotl(a1, 1) + rotl(a2, 7) + rotl(a3, 12) + rotl(a4, 18)) | 0
  } else {
    h = (seed + P5) | 0
  }
  // The length enters modulo 2^32, as the spec says.
  h = (h + n) | 0
  for (; i + 4 <= n; i += 4) h = Math.imul(rotl((h + Math.imul(word32(bytes, i), P3)) | 0, 17), P4)
  for (; i < n; i++) h = Math.imul(rotl((h + Math.imul(bytes[i], P5)) | 0, 11), P1)
  h ^= h >>> 15
  h = Math.imul(h, P2)
  h ^= h >>> 13
  h = Math.imul(h, P3)
  h ^= h >>> 16
  return h >>> 0
}
