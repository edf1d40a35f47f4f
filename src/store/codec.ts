// JSON text for the embedded store (and backups): binary values (Uint8Array, Buffer, typed arrays) travel as
// {"$binary": base64}; long arrays of fractional numbers (embeddings) as {"$f64": base64 of little-endian
// float64s}, which is exact, half the size of their decimal text, and several times faster to write and read.

/** Arrays at least this long, holding at least one non-integer, are packed (small integer arrays stay text). */
const PACK_MIN_LENGTH = 64

function packNumbers (arr: unknown[]): { $f64: string } | null {
  if (arr.length < PACK_MIN_LENGTH || typeof arr[0] !== 'number') return null
  // Copy first (non-numbers become NaN, which the check below refuses), then check on the typed array: much faster.
  const f = Float64Array.from(arr as number[])
  let fractional = false
  for (let i = 0; i < f.length; i++) {
    const x = f[i]!
    if (x - x !== 0) return null // NaN or ±Infinity
    if (!fractional && Math.floor(x) !== x) fractional = true
  }
  if (!fractional) return null
  for (let i = 0; i < arr.length; i++) if (typeof arr[i] !== 'number') return null
  return { $f64: Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64') }
}

/** The value with binary and packed arrays replaced; objects are copied only where something changes. */
function pack (value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (ArrayBuffer.isView(value)) return { $binary: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (Array.isArray(value)) {
    const packed = packNumbers(value)
    if (packed !== null) return packed
    let out: unknown[] | null = null
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      if (item === null || typeof item !== 'object') continue
      const next = pack(item)
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
    const next = pack(item)
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

export function encodeDoc (doc: unknown): string {
  return JSON.stringify(pack(doc))
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
