// JSON text for the embedded store: binary values (Uint8Array, Buffer, typed arrays) travel as {"$binary": base64}.

function replacer (this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key]
  if (ArrayBuffer.isView(raw)) {
    return { $binary: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') }
  }
  return value
}

function reviver (_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { $binary?: unknown }).$binary === 'string' &&
    Object.keys(value).length === 1) {
    return Buffer.from((value as { $binary: string }).$binary, 'base64')
  }
  return value
}

/** True when a binary value sits anywhere in `value` (a replacer costs a call per value, so it is used only then). */
function hasBinary (value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  if (ArrayBuffer.isView(value)) return true
  if (Array.isArray(value)) {
    for (const item of value) if (item !== null && typeof item === 'object' && hasBinary(item)) return true
    return false
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key]
    if (item !== null && typeof item === 'object' && hasBinary(item)) return true
  }
  return false
}

export function encodeDoc (doc: unknown): string {
  return hasBinary(doc) ? JSON.stringify(doc, replacer) : JSON.stringify(doc)
}

export function decodeDoc<T> (text: string): T {
  // The reviver is costly on large documents; only pay for it when binary is present.
  return (text.includes('"$binary"') ? JSON.parse(text, reviver) : JSON.parse(text)) as T
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
