import type { WorldState } from './types.ts'
import { createRng } from './rng.ts'

/** An empty world whose random choices all derive from `seed`. */
export function createWorld (seed: number | string): WorldState {
  return { nextId: 0, players: [], agents: [], conversations: [], rngState: createRng(seed) }
}
