// When to reflect (pure).

export const REFLECTION_THRESHOLD = 500
export const REFLECTION_LOOKBACK = 100

export interface ReflectionMemory {
  importance: number
  data: { type: string }
}

/** Memories since the last reflection memory, from a newest-first list (at most the latest 100 looked at). */
export function memoriesSinceReflection<T extends ReflectionMemory> (latestMemories: readonly T[]): T[] {
  const out: T[] = []
  for (const memory of latestMemories.slice(0, REFLECTION_LOOKBACK)) {
    if (memory.data.type === 'reflection') break
    out.push(memory)
  }
  return out
}

/** True when the importance of the memories since the last reflection sums to more than 500. */
export function shouldReflect (latestMemories: readonly ReflectionMemory[]): boolean {
  const sum = memoriesSinceReflection(latestMemories)
    .reduce((total, m) => total + (Number.isFinite(m.importance) ? m.importance : 0), 0)
  return sum > REFLECTION_THRESHOLD
}
