// The update that turns one world state into the next, touching only what changed.
import type { Update } from '../store/types.ts'

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value)
}

export function deepEqual (a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false
  }
  return true
}

type SetUnset = Required<Pick<Update, '$set' | '$unset'>>

function emptyUpdate (): SetUnset {
  return { $set: {}, $unset: {} }
}

/** JSON size of an update's paths and values: what a store is sent for it. */
function jsonSize (update: SetUnset): number {
  let size = 0
  for (const [path, value] of Object.entries(update.$set)) size += path.length + 4 + (JSON.stringify(value)?.length ?? 0)
  for (const path of Object.keys(update.$unset)) size += path.length + 6
  return size
}

/**
 * Takes the field-by-field update of an object, or one $set of the whole object when that is smaller
 * (a moved position's x and y, a replaced operation marker): the paths repeat the prefix for every field.
 */
function mergeSmaller (update: SetUnset, inner: SetUnset, path: string, after: unknown): void {
  const whole = path.length + 4 + (JSON.stringify(after)?.length ?? 0)
  if (jsonSize(inner) <= whole) {
    Object.assign(update.$set, inner.$set)
    Object.assign(update.$unset, inner.$unset)
  } else {
    update.$set[path] = after
  }
}

/**
 * Collects $set/$unset for the differences between `before` and `after`, descending into objects and into
 * arrays of entities with ids (players, agents, conversations) while the ids line up.
 */
export function diffInto (update: Required<Pick<Update, '$set' | '$unset'>>, path: string, before: unknown, after: unknown, depth: number): void {
  if (deepEqual(before, after)) return
  if (depth > 0 && isPlainObject(before) && isPlainObject(after)) {
    const inner = emptyUpdate()
    for (const key of Object.keys(after)) diffInto(inner, `${path}.${key}`, before[key], after[key], depth - 1)
    for (const key of Object.keys(before)) if (!Object.hasOwn(after, key)) inner.$unset[`${path}.${key}`] = 1
    mergeSmaller(update, inner, path, after)
    return
  }
  if (depth > 0 && Array.isArray(before) && Array.isArray(after) && before.length === after.length &&
    before.every((item, i) => isPlainObject(item) && isPlainObject(after[i]) && item.id !== undefined && item.id === (after[i] as { id?: unknown }).id)) {
    const inner = emptyUpdate()
    for (let i = 0; i < after.length; i++) diffInto(inner, `${path}.${i}`, before[i], after[i], depth - 1)
    mergeSmaller(update, inner, path, after)
    return
  }
  if (after === undefined) update.$unset[path] = 1
  else update.$set[path] = after
}

/** The update for the top-level fields listed, each diffed `depth` levels deep. */
export function diffFields (before: Record<string, unknown>, after: Record<string, unknown>, fields: readonly string[], depth: number): Required<Pick<Update, '$set' | '$unset'>> {
  const update = { $set: {} as Record<string, unknown>, $unset: {} as Record<string, true | 1 | ''> }
  for (const field of fields) {
    if (deepEqual(before[field], after[field])) continue
    if (Array.isArray(before[field]) || isPlainObject(before[field])) diffInto(update, field, before[field], after[field], depth)
    else if (after[field] === undefined) update.$unset[field] = 1
    else update.$set[field] = after[field]
  }
  return update
}
