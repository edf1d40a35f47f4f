// Applies the port's update operators to a plain document, for the store that cannot do it server-side.
import type { Doc, Filter, Update } from './types.ts'
import { UnsupportedQueryError } from './errors.ts'

function walk (doc: Record<string, unknown>, path: string, create: boolean): { parent: Record<string, unknown> | unknown[], key: string } | null {
  const parts = path.split('.')
  let node: Record<string, unknown> | unknown[] = doc
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!
    let next = (node as Record<string, unknown>)[part]
    if (next === undefined || next === null) {
      if (!create) return null
      next = {}
      ;(node as Record<string, unknown>)[part] = next
    }
    if (typeof next !== 'object') throw new UnsupportedQueryError(`cannot set ${path}: ${part} is not an object`)
    node = next as Record<string, unknown>
  }
  return { parent: node, key: parts[parts.length - 1]! }
}

export function getPath (doc: unknown, path: string): unknown {
  let node = doc
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[part]
  }
  return node
}

export function setPath (doc: Record<string, unknown>, path: string, value: unknown): void {
  const at = walk(doc, path, true)!
  ;(at.parent as Record<string, unknown>)[at.key] = value
}

/** Applies an update in place; returns whether anything changed. */
export function applyUpdate (doc: Doc, update: Update, inserting: boolean): boolean {
  let changed = false
  const set = (path: string, value: unknown): void => {
    if (path === '_id' || path === '_creationTime') return
    if (!Object.is(getPath(doc, path), value) || typeof value === 'object') changed = true
    setPath(doc, path, value)
  }
  for (const [op, fields] of Object.entries(update)) {
    if (fields === undefined) continue
    for (const [path, value] of Object.entries(fields as Record<string, unknown>)) {
      switch (op) {
        case '$set': set(path, value); break
        case '$setOnInsert': if (inserting) set(path, value); break
        case '$inc': {
          const current = getPath(doc, path)
          set(path, (typeof current === 'number' ? current : 0) + (value as number))
          break
        }
        case '$max': {
          const current = getPath(doc, path)
          if (typeof current !== 'number' || (value as number) > current) set(path, value)
          break
        }
        case '$unset': {
          const at = walk(doc, path, false)
          if (at !== null && Object.hasOwn(at.parent, at.key)) {
            delete (at.parent as Record<string, unknown>)[at.key]
            changed = true
          }
          break
        }
        default: throw new UnsupportedQueryError(`update operator ${op}`)
      }
    }
  }
  return changed
}

/** The fields an upsert copies from its filter: plain equalities and $eq. */
export function equalityFields (filter: Filter): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [path, cond] of Object.entries(filter)) {
    if (cond === null || typeof cond !== 'object') out[path] = cond
    else if ('$eq' in cond) out[path] = cond.$eq
  }
  return out
}
