// Convex's JSON encoding of values, on every wire townhall speaks: bytes as {"$bytes": base64}, 64-bit integers
// as {"$integer": base64 of 8 little-endian bytes}, and the floats JSON cannot hold (NaN, ±Infinity, -0) as
// {"$float": base64 of the float64's 8 little-endian bytes}. Runs in Node and in the browser (the viewer), so it
// imports nothing: its error is a plain class that the error handlers read like a FastifyError (statusCode, code).

/** A malformed encoding in a client's arguments: a 400 that names where in the arguments it is. */
export class BadConvexValueError extends Error {
  readonly statusCode = 400
  readonly code = 'TOWNHALL_ERR_BAD_ARGUMENTS'
  constructor (path: string, problem: string) {
    super(`bad arguments: ${path} ${problem}`)
    this.name = 'BadConvexValueError'
  }
}

/** How deep a value may nest: deeper input is refused before it can exhaust the stack. */
export const MAX_DEPTH = 64
/** Convex's limit on a field name's length. */
const MAX_FIELD_NAME = 1024
const MIN_INT64 = -(2n ** 63n)
const MAX_INT64 = 2n ** 63n - 1n

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const B64_INDEX = new Int16Array(128).fill(-1)
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i

export function toBase64 (bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!
  }
  if (i < bytes.length) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8)
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + (i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=') + '='
  }
  return out
}

/** Strict base64 (standard alphabet, padded); null when the text is not that. */
export function fromBase64 (text: string): Uint8Array | null {
  if (text.length % 4 !== 0) return null
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0
  const out = new Uint8Array((text.length / 4) * 3 - padding)
  let o = 0
  for (let i = 0; i < text.length; i += 4) {
    let n = 0
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j)
      const isPad = c === 61 && i + j >= text.length - padding
      const v = isPad ? 0 : c < 128 ? B64_INDEX[c]! : -1
      if (v < 0) return null
      n = (n << 6) | v
    }
    if (o < out.length) out[o++] = (n >> 16) & 255
    if (o < out.length) out[o++] = (n >> 8) & 255
    if (o < out.length) out[o++] = n & 255
  }
  return out
}

function float64Bytes (n: number): Uint8Array {
  const bytes = new Uint8Array(8)
  new DataView(bytes.buffer).setFloat64(0, n, true)
  return bytes
}

function int64Bytes (n: bigint): Uint8Array {
  const bytes = new Uint8Array(8)
  new DataView(bytes.buffer).setBigInt64(0, n, true)
  return bytes
}

const isSpecialFloat = (n: number): boolean => !Number.isFinite(n) || Object.is(n, -0)

// Objects from another realm (a vm context) have another Object.prototype, as in Convex's isSimpleObject.
function isPlainObject (v: object): boolean {
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null
  return proto === null || proto === Object.prototype || proto.constructor?.name === 'Object'
}

/** Why Convex refuses a field name, or null when it is fine: the official clients throw on the same names. */
function fieldNameProblem (k: string): string | null {
  if (k.length > MAX_FIELD_NAME) return `has a field name longer than ${MAX_FIELD_NAME} characters`
  if (k.startsWith('$')) return `has a field ${JSON.stringify(k)}: field names starting with "$" are reserved`
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i)
    if (c < 32 || c >= 127) return `has a field ${JSON.stringify(k)}: field names may only hold printable ASCII`
  }
  return null
}

/** A value as Convex's JSON: what the official clients' jsonToConvex turns back into the same value. */
export function convexToJson (value: unknown): unknown {
  return encode(value, [])
}

// `trail` is the path down to the value (keys and indexes), kept as a stack: strings are built only for an error.
function encode (value: unknown, trail: Array<string | number>): unknown {
  if (value === null || value === undefined) return null
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return isSpecialFloat(value) ? { $float: toBase64(float64Bytes(value)) } : value
  if (typeof value === 'bigint') {
    if (value < MIN_INT64 || value > MAX_INT64) throw new TypeError(`cannot encode ${at(trail)}: ${value} does not fit in a 64-bit signed integer`)
    return { $integer: toBase64(int64Bytes(value)) }
  }
  if (value instanceof Uint8Array) return { $bytes: toBase64(value) }
  if (value instanceof ArrayBuffer) return { $bytes: toBase64(new Uint8Array(value)) }
  if (typeof value !== 'object') throw new TypeError(`cannot encode ${at(trail)}: a ${typeof value} is not a Convex value`)
  if (trail.length >= MAX_DEPTH) throw new RangeError(`cannot encode ${at(trail)}: nested deeper than ${MAX_DEPTH} levels`)
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) {
      trail.push(i)
      out[i] = encode(value[i], trail)
      trail.pop()
    }
    return out
  }
  if (!isPlainObject(value)) {
    throw new TypeError(`cannot encode ${at(trail)}: a ${value.constructor?.name ?? 'object'} is not a Convex value`)
  }
  const out: Record<string, unknown> = {}
  // Sorted by key, as Convex's own encoder does, so both give the same JSON text.
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k]
    if (v === undefined) continue
    const problem = fieldNameProblem(k)
    if (problem !== null) throw new TypeError(`cannot encode ${at(trail)}: it ${problem}`)
    trail.push(k)
    define(out, k, encode(v, trail))
    trail.pop()
  }
  return out
}

const pathOf = (root: string, trail: Array<string | number>): string =>
  trail.reduce<string>((path, step) => typeof step === 'number' ? `${path}[${step}]` : path === '' ? step : `${path}.${step}`, root)

const at = (trail: Array<string | number>): string => trail.length === 0 ? 'the value' : `the value at ${pathOf('', trail)}`

// defineProperty keeps a "__proto__" key an own field, never the prototype (and is slow, so only for that key).
function define (out: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
  else out[k] = v
}

function decodeSpecial (obj: Record<string, unknown>, keys: string[], path: string): unknown {
  const key = keys.find((k) => k.startsWith('$'))!
  if (key !== '$bytes' && key !== '$integer' && key !== '$float') {
    throw new BadConvexValueError(path, `has a field ${JSON.stringify(key)}: field names starting with "$" are reserved, and ${key} is not an encoding`)
  }
  if (keys.length !== 1) throw new BadConvexValueError(path, `is a ${key} encoding, which must be the object's only field (it has ${keys.length})`)
  const text = obj[key]
  if (typeof text !== 'string') throw new BadConvexValueError(path, `is a ${key} encoding whose value is not a base64 string`)
  const bytes = fromBase64(text)
  if (bytes === null) throw new BadConvexValueError(path, `is a ${key} encoding that is not valid base64`)
  if (key === '$bytes') return bytes
  if (bytes.length !== 8) throw new BadConvexValueError(path, `is a ${key} encoding of ${bytes.length} bytes, not 8`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8)
  if (key === '$integer') return view.getBigInt64(0, true)
  const float = view.getFloat64(0, true)
  if (!isSpecialFloat(float)) throw new BadConvexValueError(path, `is a $float encoding of ${float}, which must be sent as a plain number`)
  return float
}

/** A value from Convex's JSON (arguments from clients): a malformed encoding throws a 400 naming where it is. */
export function jsonToConvex (json: unknown): unknown {
  return decode(json, [])
}

function decode (json: unknown, trail: Array<string | number>): unknown {
  if (json === null || typeof json !== 'object') return json
  if (trail.length >= MAX_DEPTH) throw new BadConvexValueError(pathOf('args', trail), `is nested deeper than ${MAX_DEPTH} levels`)
  if (Array.isArray(json)) {
    const out = new Array<unknown>(json.length)
    for (let i = 0; i < json.length; i++) {
      trail.push(i)
      out[i] = decode(json[i], trail)
      trail.pop()
    }
    return out
  }
  const obj = json as Record<string, unknown>
  const keys = Object.keys(obj)
  if (keys.some((k) => k.startsWith('$'))) return decodeSpecial(obj, keys, pathOf('args', trail))
  const out: Record<string, unknown> = {}
  for (const k of keys) {
    const problem = fieldNameProblem(k)
    if (problem !== null) throw new BadConvexValueError(pathOf('args', trail), problem)
    trail.push(k)
    define(out, k, decode(obj[k], trail))
    trail.pop()
  }
  return out
}
