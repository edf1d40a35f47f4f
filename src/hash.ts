// A fast 32-bit string hash: FNV-1a over UTF-16 code units, then murmur3's fmix32 avalanche so that
// similar strings spread over all buckets and sums of hashes do not cancel.
export function hashString (text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return fmix32(h)
}

/** murmur3's finaliser: every input bit affects every output bit. */
export function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
