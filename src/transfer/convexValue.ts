// Values of a Convex snapshot export (CONVEX_EXPORT_FORMAT §4-5): the current "uniform" encoding, where
// bytes are {"$bytes": base64} and non-finite floats {"$float": base64 of 8 little-endian bytes}, and the
// legacy "clean" encoding, where bytes were bare base64 strings (the table mapping knows which fields).
import { numbersOf } from '../store/codec.ts'

export class ExportValueError extends Error {}

function decodeSpecial (obj: Record<string, unknown>): unknown {
  const keys = Object.keys(obj)
  if (keys.length !== 1) throw new ExportValueError(`an object whose first key starts with "$" must have exactly one key, got ${keys.join(', ')}`)
  const [key] = keys
  const raw = obj[key!]
  if (typeof raw !== 'string') throw new ExportValueError(`${key} must hold a base64 string`)
  const bytes = Buffer.from(raw, 'base64')
  switch (key) {
    case '$bytes': return bytes
    case '$float':
      if (bytes.length !== 8) throw new ExportValueError(`$float must hold 8 bytes, got ${bytes.length}`)
      return bytes.readDoubleLE(0)
    case '$integer': {
      if (bytes.length !== 8) throw new ExportValueError(`$integer must hold 8 bytes, got ${bytes.length}`)
      const n = bytes.readBigInt64LE(0)
      if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) throw new ExportValueError(`int64 ${n} does not fit a JavaScript number exactly`)
      return Number(n)
    }
    default: throw new ExportValueError(`unknown encoded value ${key}`)
  }
}

/** Replaces encoded values in place (arrays of numbers, the bulk of an export, are only scanned). */
export function decodeExportValue (value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  // How the reading worker passes long number arrays: as plain, unboxed arrays of numbers.
  if (value instanceof Float64Array) return numbersOf(value)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      if (item !== null && typeof item === 'object') value[i] = decodeExportValue(item)
    }
    return value
  }
  const obj = value as Record<string, unknown>
  let first = true
  for (const key in obj) {
    if (first && key.startsWith('$')) return decodeSpecial(obj)
    first = false
    const item = obj[key]
    if (item !== null && typeof item === 'object') obj[key] = decodeExportValue(item)
  }
  return obj
}

/**
 * A parsed documents.jsonl line, its encoded values decoded and its _id and _creationTime checked. The top-level
 * field `float64Field`, when the reading worker gave it as a Float64Array, stays one.
 */
export function exportDocument (parsed: unknown, float64Field?: string): Record<string, unknown> & { _id: string, _creationTime: number } {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ExportValueError('a document must be a JSON object')
  const obj = parsed as Record<string, unknown>
  const kept = float64Field !== undefined && obj[float64Field] instanceof Float64Array ? obj[float64Field] : null
  if (kept !== null) obj[float64Field!] = null // the key keeps its place
  const doc = decodeExportValue(parsed) as Record<string, unknown>
  if (kept !== null) doc[float64Field!] = kept
  if (typeof doc._id !== 'string' || doc._id === '') throw new ExportValueError('the document has no _id string')
  if (typeof doc._creationTime !== 'number' || !Number.isFinite(doc._creationTime)) throw new ExportValueError('the document has no numeric _creationTime')
  return doc as Record<string, unknown> & { _id: string, _creationTime: number }
}

/** A bytes field in either encoding: Buffer from the uniform format, a base64 string from the legacy one. */
export function bytesField (value: unknown): Buffer | null {
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array) return Buffer.from(value)
  if (typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(value)) return Buffer.from(value, 'base64')
  return null
}
