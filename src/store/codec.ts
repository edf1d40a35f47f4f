// JSON text for the embedded store (and backups): binary values (Uint8Array, Buffer, typed arrays) travel as
// {"$binary": base64}; long arrays of fractional numbers (embeddings) as {"$f64": base64 of little-endian
// float64s}, which is exact, half the size of their decimal text, and several times faster to write and read.
import { randomBytes } from 'node:crypto'

/** Arrays at least this long, holding at least one non-integer, are packed (small integer arrays stay text). */
const PACK_MIN_LENGTH = 64

/** Packed arrays' float64 bytes are copied here first: one reused buffer, nothing to collect. */
let scratch = new Float64Array(1024)

/** Base64 of the array's float64 bytes, or null when it stays a JSON array (too short, no fraction, not all finite numbers). */
function packNumbers (arr: unknown[]): string | null {
  if (arr.length < PACK_MIN_LENGTH || typeof arr[0] !== 'number') return null
  if (scratch.length < arr.length) scratch = new Float64Array(arr.length)
  const f = scratch
  let fractional = false
  for (let i = 0; i < arr.length; i++) {
    const x = arr[i]
    if (typeof x !== 'number' || x - x !== 0) return null // not a number, NaN or ±Infinity
    f[i] = x
    if (!fractional && Math.floor(x) !== x) fractional = true
  }
  if (!fractional) return null
  return Buffer.from(f.buffer, 0, arr.length * 8).toString('base64')
}

/**
 * The value with binary and packed arrays replaced; objects are copied only where something changes. With
 * `packed`, packed arrays become {"$f64": PLACEHOLDER} and their base64 goes there, in the order
 * JSON.stringify meets them; without, the base64 is written in place.
 */
function pack (value: unknown, packed: string[] | null): unknown {
  if (value === null || typeof value !== 'object') return value
  if (ArrayBuffer.isView(value)) return { $binary: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (Array.isArray(value)) {
    const numbers = packNumbers(value)
    if (numbers !== null) {
      if (packed === null) return { $f64: numbers }
      packed.push(numbers)
      return { $f64: PLACEHOLDER }
    }
    let out: unknown[] | null = null
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      if (item === null || typeof item !== 'object') continue
      const next = pack(item, packed)
      if (next !== item) {
        out ??= value.slice()
        out[i] = next
      }
    }
    return out ?? value
  }
  let out: Record<string, unknown> | null = null
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key]
    if (item === null || typeof item !== 'object') continue
    const next = pack(item, packed)
    if (next !== item) {
      out ??= { ...(value as Record<string, unknown>) }
      out[key] = next
    }
  }
  return out ?? value
}

function unpack (value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      if (item !== null && typeof item === 'object') value[i] = unpack(item)
    }
    return value
  }
  const obj = value as Record<string, unknown>
  if (typeof obj.$binary === 'string' && Object.keys(obj).length === 1) return Buffer.from(obj.$binary, 'base64')
  if (typeof obj.$f64 === 'string' && Object.keys(obj).length === 1) {
    const bytes = Buffer.from(obj.$f64, 'base64')
    const copy = new Uint8Array(bytes)
    return Array.from(new Float64Array(copy.buffer, 0, copy.byteLength / 8))
  }
  for (const key in obj) {
    const item = obj[key]
    if (item !== null && typeof item === 'object') obj[key] = unpack(item)
  }
  return obj
}

// JSON.stringify checks every character of a string for escapes: for an embedding's 11 KB of base64 that
// was most of the cost of writing it (Node 20). Base64 needs no escapes, so the text is written with a short
// placeholder and the base64 is put in its place.
const PLACEHOLDER = `\u0000f64:${randomBytes(6).toString('hex')}`
const PLACEHOLDER_JSON = `{"$f64":${JSON.stringify(PLACEHOLDER)}}`

export function encodeDoc (doc: unknown): string {
  const packed: string[] = []
  const text = JSON.stringify(pack(doc, packed))
  if (packed.length === 0) return text
  const parts = text.split(PLACEHOLDER_JSON)
  // A document holding the placeholder itself (never in practice) is written the slow way.
  if (parts.length !== packed.length + 1) return JSON.stringify(pack(doc, null))
  let out = parts[0]!
  for (let i = 0; i < packed.length; i++) out += `{"$f64":"${packed[i]!}"}${parts[i + 1]!}`
  return out
}

export function decodeDoc<T> (text: string): T {
  const parsed = JSON.parse(text) as unknown
  // Walking the document costs little, but only pay for it when something was packed.
  return (text.includes('"$binary"') || text.includes('"$f64"') ? unpack(parsed) : parsed) as T
}

/** A Float32Array as bytes (little-endian, as stored), and back. */
export function float32ToBytes (vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength)
}

export function bytesToFloat32 (bytes: Uint8Array): Float32Array {
  // Copy so the result is aligned and does not alias a pooled buffer.
  const copy = new Uint8Array(bytes)
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4)
}
