// The per-socket frame rate limit that every WebSocket protocol applies (a token bucket per client).
export const MAX_FRAMES_PER_SECOND = 100

interface Bucket { tokens: number, at: number }
const buckets = new WeakMap<object, Bucket>()

/** Takes one token from this socket's bucket; false when it sends faster than the limit. */
export function frameAllowed (client: object, now = Date.now()): boolean {
  const bucket = buckets.get(client) ?? { tokens: MAX_FRAMES_PER_SECOND * 2, at: now }
  bucket.tokens = Math.min(MAX_FRAMES_PER_SECOND * 2, bucket.tokens + ((now - bucket.at) / 1000) * MAX_FRAMES_PER_SECOND)
  bucket.at = now
  buckets.set(client, bucket)
  if (bucket.tokens < 1) return false
  bucket.tokens -= 1
  return true
}
