// Inputs are persisted before they are acknowledged and numbered without gaps: number = newest + 1,
// inserted under the unique index {engineId, number}; a collision (another instance) just retries.
import { DuplicateKeyError } from '../store/errors.ts'
import type { Store } from '../store/types.ts'
import type { InputDoc } from './types.ts'

export interface SubmitInputOptions {
  now?: () => number
  maxAttempts?: number
}

const chains = new WeakMap<Store, Map<string, Promise<unknown>>>()

/** Serialises submissions per engine within this process, so they do not collide with each other. */
function serialise<T> (store: Store, engineId: string, task: () => Promise<T>): Promise<T> {
  let perStore = chains.get(store)
  if (perStore === undefined) chains.set(store, perStore = new Map())
  const previous = perStore.get(engineId) ?? Promise.resolve()
  const next = previous.then(task, task)
  const settled = next.catch(() => {})
  perStore.set(engineId, settled)
  settled.then(() => { if (perStore.get(engineId) === settled) perStore.delete(engineId) })
  return next
}

export async function submitInput (store: Store, engineId: string, name: string, args: unknown, options: SubmitInputOptions = {}): Promise<InputDoc> {
  const inputs = store.collection<InputDoc>('inputs')
  const now = options.now ?? Date.now
  const maxAttempts = options.maxAttempts ?? 50
  return await serialise(store, engineId, async () => {
    for (let attempt = 1; ; attempt++) {
      const newest = await inputs.findOne({ engineId }, { sort: { number: -1 } })
      const number = (newest?.number ?? 0) + 1
      try {
        return await inputs.insertOne({ engineId, number, name, args: args ?? {}, received: now() })
      } catch (err) {
        if (!(err instanceof DuplicateKeyError) || attempt >= maxAttempts) throw err
        // Another instance took this number; back off a little and take the next one.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt))
      }
    }
  })
}

export async function inputStatus (store: Store, inputId: string): Promise<InputDoc | null> {
  return await store.collection<InputDoc>('inputs').findOne({ _id: inputId })
}
