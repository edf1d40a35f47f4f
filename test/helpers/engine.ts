// Engine test helpers: a quiet logger, waiting on a condition, a world with no agents.
import type { Store } from '../../src/store/types.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import type { InputDoc, WorldDoc, WorldStatusDoc } from '../../src/engine/types.ts'
import { loadWorld } from '../../src/engine/worldDoc.ts'

export const quietLog = { info: () => {}, warn: () => {}, debug: () => {}, error: () => {} }

export async function waitFor<T> (what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== null && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export async function emptyWorld (store: Store, now = Date.now()): Promise<WorldStatusDoc> {
  return await createWorldRecords(store, { now, agents: 0, seed: 42 })
}

export async function readWorld (store: Store, worldId: string): Promise<WorldDoc> {
  return (await loadWorld(store, worldId))!
}

export async function allInputs (store: Store, engineId: string): Promise<InputDoc[]> {
  return await store.collection<InputDoc>('inputs').find({ engineId }, { sort: { number: 1 } })
}
