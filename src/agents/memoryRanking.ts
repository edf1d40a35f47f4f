// Memory retrieval ranking (pure): relevance, importance and recency, each min-max normalised.

export const RECENCY_DECAY_PER_HOUR = 0.99
export const DEFAULT_RETRIEVE_COUNT = 3
/** Vector search fetches this many times n before ranking. */
export const RETRIEVE_OVERFETCH = 10
/** A winner's lastAccess is refreshed at most this often. */
export const LAST_ACCESS_REFRESH_MS = 5 * 60_000

export interface MemoryCandidate {
  id: string
  /** Cosine similarity to the query. */
  relevance: number
  /** 0–9. */
  importance: number
  /** ms. */
  lastAccess: number
}

export interface RankedMemory {
  relevanceScore: number
  importanceScore: number
  recencyScore: number
  score: number
}

export function recency (lastAccess: number, now: number): number {
  const hours = Math.max(0, (now - lastAccess) / 3_600_000)
  return RECENCY_DECAY_PER_HOUR ** hours
}

/** Maps values to 0–1; all-equal values (or one value) contribute 0 instead of dividing by zero. */
function normalise (values: number[]): number[] {
  const finite = values.map((v) => (Number.isFinite(v) ? v : 0))
  const min = Math.min(...finite)
  const max = Math.max(...finite)
  const range = max - min
  return range > 0 ? finite.map((v) => (v - min) / range) : finite.map(() => 0)
}

/** The top n candidates by relevance + importance + recency (equal weights); ties keep input order. */
export function rankMemories<T extends MemoryCandidate> (candidates: readonly T[], now: number, n = DEFAULT_RETRIEVE_COUNT): Array<T & RankedMemory> {
  if (candidates.length === 0 || n <= 0) return []
  const relevance = normalise(candidates.map((c) => c.relevance))
  const importance = normalise(candidates.map((c) => c.importance))
  const recent = normalise(candidates.map((c) => recency(c.lastAccess, now)))
  return candidates
    .map((c, i) => ({
      ...c,
      relevanceScore: relevance[i],
      importanceScore: importance[i],
      recencyScore: recent[i],
      score: relevance[i] + importance[i] + recent[i]
    }))
    .map((ranked, index) => ({ ranked, index }))
    .sort((a, b) => b.ranked.score - a.ranked.score || a.index - b.index)
    .slice(0, n)
    .map(({ ranked }) => ranked)
}

/** Ids of winners whose lastAccess should be set to now: those not refreshed within 5 minutes. */
export function memoriesToTouch (winners: ReadonlyArray<Pick<MemoryCandidate, 'id' | 'lastAccess'>>, now: number, throttleMs = LAST_ACCESS_REFRESH_MS): string[] {
  return winners.filter((m) => now - m.lastAccess >= throttleMs).map((m) => m.id)
}
