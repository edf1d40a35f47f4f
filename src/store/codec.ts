// JSON text for backups and the embedded store: binary values (Uint8Array, Buffer, typed arrays) travel as
// {"$binary": base64}, except a Float64Array, which is an array of numbers (as the MongoDB store writes it too);
// long arrays of fractional numbers (embeddings) as {"$f64": base64 of little-endian float64s}, which is exact,
// half the size of their decimal text, and several times faster to write and read.
// The embedded store keeps those arrays out of the text altogether (encodeRow): their float64 bytes go to a
// binary column and the text holds {"$f64at": [offset, length]}, so SQLite's JSON functions (the indexes) parse
// a few hundred bytes instead of 11 KB of base64, and nothing is base64-encoded.
import { randomBytes } from 'node:crypto'

/** Arrays at least this long, holding at least one non-integer, are packed (small integer arrays stay text). */
const PACK_MIN_LENGTH = 64

/** Packed arrays' float64 bytes are copied here first: one reused buffer, nothing to collect. */
let scratch = new Float64Array(1024)

/**
 * Copies the array into `scratch` as float64s and returns true, or false when it stays a JSON array (too short,
 * no fraction, not all finite numbers).
 */
function packNumbers (arr: unknown[]): boolean {
  if (arr.length < PACK_MIN_LENGTH || typeof arr[0] !== 'number') return false
  if (scratch.length < arr.length) scratch = new Float64Array(arr.length)
  const f = scratch
  let fractional = false
  for (let i = 0; i < arr.length; i++) {
    const x = arr[i]
    if (typeof x !== 'number' || x - x !== 0) return false // not a number, NaN or ±Infinity
    f[i] = x
    if (!fractional && Math.floor(x) !== x) fractional = true
  }
  return fractional
}

/**
 * What a packed array is replaced with: its `length` float64s are in `source` (a Float64Array given as such) or
 * else in `scratch`.
 */
type PackedAs = (length: number, source?: Float64Array) => unknown

/** Base64 of the packed array's float64s. */
function packedBase64 (length: number, source: Float64Array | undefined): string {
  const from = source ?? scratch
  return Buffer.from(from.buffer, from.byteOffset, length * 8).toString('base64')
}

const inPlace: PackedAs = (length, source) => ({ $f64: packedBase64(length, source) })

/** A Float64Array is an array of numbers: packed when such an array would be (as it is, not copied), else a plain one. */
function packFloat64 (f: Float64Array, as: PackedAs): unknown {
  let fractional = false
  if (f.length >= PACK_MIN_LENGTH) {
    for (let i = 0; i < f.length; i++) {
      const x = f[i]!
      if (x - x !== 0) return numbersOf(f) // NaN or ±Infinity: as the plain array is
      if (!fractional && Math.floor(x) !== x) fractional = true
    }
  }
  if (!fractional) return numbersOf(f)
  return as(f.length, f)
}

/** The value with binary and packed arrays replaced (packed arrays by `as`); objects are copied only where something changes. */
function pack (value: unknown, as: PackedAs): unknown {
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Float64Array) return packFloat64(value, as)
  if (ArrayBuffer.isView(value)) return { $binary: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (Array.isArray(value)) {
    if (packNumbers(value)) return as(value.length)
    let out: unknown[] | null = null
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      if (item === null || typeof item !== 'object') continue
      const next = pack(item, as)
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
    const next = pack(item, as)
    if (next !== item) {
      out ??= { ...(value as Record<string, unknown>) }
      out[key] = next
    }
  }
  return out ?? value
}

/** Float64s as a plain array (sized up front: Array.from over a typed array is several times slower). */
export function numbersOf (f: Float64Array): number[] {
  const out = new Array<number>(f.length)
  for (let i = 0; i < f.length; i++) out[i] = f[i]!
  return out
}

/** Little-endian float64 bytes as numbers (copied first: the bytes need not be 8-aligned). */
function numbersOfBytes (bytes: Uint8Array): number[] {
  const copy = new Uint8Array(bytes)
  return numbersOf(new Float64Array(copy.buffer, 0, copy.byteLength >> 3))
}

/** Puts back what `pack` replaced; `bin` is the row's binary column, where {"$f64at"} arrays are. */
function unpack (value: unknown, bin: Float64Array | null): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      if (item !== null && typeof item === 'object') value[i] = unpack(item, bin)
    }
    return value
  }
  const obj = value as Record<string, unknown>
  if (typeof obj.$binary === 'string' && Object.keys(obj).length === 1) return Buffer.from(obj.$binary, 'base64')
  if (typeof obj.$f64 === 'string' && Object.keys(obj).length === 1) return numbersOfBytes(Buffer.from(obj.$f64, 'base64'))
  if (bin !== null && Array.isArray(obj.$f64at) && Object.keys(obj).length === 1) {
    const [offset, length] = obj.$f64at as [number, number]
    return numbersOf(bin.subarray(offset, offset + length))
  }
  for (const key in obj) {
    const item = obj[key]
    if (item !== null && typeof item === 'object') obj[key] = unpack(item, bin)
  }
  return obj
}

// JSON.stringify checks every character of a string for escapes: for an embedding's 11 KB of base64 that
// was most of the cost of writing it (Node 20). Base64 needs no escapes, so the text is written with a short
// placeholder and the base64 is put in its place.
const PLACEHOLDER = `\u0000f64:${randomBytes(6).toString('hex')}`
const PLACEHOLDER_OBJECT = { $f64: PLACEHOLDER }
const PLACEHOLDER_JSON = JSON.stringify(PLACEHOLDER_OBJECT)

export function encodeDoc (doc: unknown): string {
  const packed: string[] = []
  // Packed arrays become {"$f64": PLACEHOLDER}; their base64 goes there, in the order JSON.stringify meets them.
  const text = JSON.stringify(pack(doc, (length, source) => {
    packed.push(packedBase64(length, source))
    return PLACEHOLDER_OBJECT
  }))
  if (packed.length === 0) return text
  const parts = text.split(PLACEHOLDER_JSON)
  // A document holding the placeholder itself (never in practice) is written the slow way.
  if (parts.length !== packed.length + 1) return JSON.stringify(pack(doc, inPlace))
  let out = parts[0]!
  for (let i = 0; i < packed.length; i++) out += `{"$f64":"${packed[i]!}"}${parts[i + 1]!}`
  return out
}

export function decodeDoc<T> (text: string): T {
  const parsed = JSON.parse(text) as unknown
  // Walking the document costs little, but only pay for it when something was packed.
  return (text.includes('"$binary"') || text.includes('"$f64"') ? unpack(parsed, null) : parsed) as T
}

/** A document as an embedded-store row: its JSON text, and its packed arrays' float64s (null when it has none). */
export interface Row {
  text: string
  bin: Buffer | null
}

/** Packed arrays' float64s of the row being encoded, one after another (copied out of `scratch`; a Float64Array as it is). */
let rowParts: Float64Array[] = []
let rowLength = 0
const intoRow: PackedAs = (length, source) => {
  const at = rowLength
  rowParts.push(source ?? scratch.slice(0, length))
  rowLength += length
  return { $f64at: [at, length] }
}

/** The row of a document. Its `bin` may share memory with a Float64Array of the document: write it before changing that. */
export function encodeRow (doc: unknown): Row {
  rowParts = []
  rowLength = 0
  const text = JSON.stringify(pack(doc, intoRow))
  if (rowParts.length === 0) return { text, bin: null }
  const parts = rowParts
  rowParts = []
  // One array (an embedding): its own bytes, not copied here (SQLite copies what is bound).
  if (parts.length === 1) return { text, bin: Buffer.from(parts[0]!.buffer, parts[0]!.byteOffset, parts[0]!.byteLength) }
  const bin = new Float64Array(rowLength)
  let at = 0
  for (const part of parts) { bin.set(part, at); at += part.length }
  return { text, bin: Buffer.from(bin.buffer) }
}

export function decodeRow<T> (text: string, bin: Uint8Array | null): T {
  if (bin === null) return decodeDoc<T>(text)
  // A Float64Array view needs 8-aligned bytes: copied when they are not.
  const aligned = bin.byteOffset % 8 === 0 ? bin : new Uint8Array(bin)
  return unpack(JSON.parse(text), new Float64Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 3)) as T
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
