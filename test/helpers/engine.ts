// Engine test helpers: a quiet logger, waiting on a condition, a world with no agents.
import type { Store } from '../../src/store/types.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import type { EngineDoc, InputDoc, WorldDoc, WorldStatusDoc } from '../../src/engine/types.ts'
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

/** The engines each instance holds an unexpired lease on, by instance id (for placement tests and bench:worlds). */
export async function leasesByInstance (store: Store): Promise<Map<string, string[]>> {
  const now = Date.now()
  const out = new Map<string, string[]>()
  for (const e of await store.collection<EngineDoc>('engines').find({ running: true })) {
    if (e.runner === null || e.runner.until < now) continue
    out.set(e.runner.instanceId, [...(out.get(e.runner.instanceId) ?? []), e._id])
  }
  return out
}

/**
 * Each engine's world clock and the generation that committed it, by engine id, from the world documents (the
 * engine record's own clock trails them by up to a step): how instances tests and bench:worlds tell a step.
 */
export async function worldClocks (store: Store, engineIds: string[]): Promise<Map<string, { clock: number, generation: number }>> {
  // Only the step: bench:worlds asks this every 50 ms of up to 50 worlds while they are handed over.
  const worlds = await store.collection<WorldDoc>('worlds').find({ engineId: { $in: engineIds } }, { fields: ['engineId', 'step'] })
  return new Map(worlds.map((w) => [w.engineId, { clock: w.step.currentTime, generation: w.step.generation }]))
}
