// Townhall's Convex value codec against the convex package's own: same JSON text out, same values back.
import t from 'tap'
import * as convexValues from 'convex/values'
import { BadConvexValueError, MAX_DEPTH, convexToJson, jsonToConvex } from '../../src/api/convexJson.ts'

const upstreamToJson = convexValues.convexToJson as (v: unknown) => unknown
const upstreamFromJson = convexValues.jsonToConvex as (v: unknown) => unknown

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b)

// Every kind of value both sides accept; ArrayBuffer is what the convex package takes for bytes.
const samples: Array<[string, unknown]> = [
  ['null', null],
  ['true', true],
  ['a string', 'héllo "world" \u2028 🌍'],
  ['an integer-valued float', 42],
  ['a fraction', -0.125],
  ['the largest safe integer', Number.MAX_SAFE_INTEGER],
  ['a tiny float', Number.MIN_VALUE],
  ['zero', 0],
  ['-0', -0],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['bigint 0', 0n],
  ['bigint 1', 1n],
  ['bigint -1', -1n],
  ['bigint max int64', 2n ** 63n - 1n],
  ['bigint min int64', -(2n ** 63n)],
  ['empty bytes', new ArrayBuffer(0)],
  ['one byte', bytes(0xff).buffer],
  ['two bytes', bytes(0, 1).buffer],
  ['three bytes', bytes(1, 2, 3).buffer],
  ['256 bytes', Uint8Array.from({ length: 256 }, (_, i) => i).buffer],
  ['an array', [1, 'two', null, false, [3n], -0]],
  ['an object, keys out of order', { zeta: 1, alpha: { nested: [Number.NaN], b: 2, a: 1 }, mid: 'x' }],
  ['an empty object and array', { o: {}, a: [] }],
  ['a world-shaped value', { worldId: 'w1', engineId: 'e1', status: 'running', lastViewed: 1733140000000.5, players: [{ id: 'p:1', position: { x: 1.5, y: 2 }, facing: { dx: 0, dy: -1 } }] }]
]

t.test('encodes every sample to the same JSON text as convex/values', async (t) => {
  for (const [name, value] of samples) {
    t.equal(JSON.stringify(convexToJson(value)), JSON.stringify(upstreamToJson(value)), name)
  }
})

t.test('what convex/values encodes decodes back to the same value', async (t) => {
  for (const [name, value] of samples) {
    const decoded = jsonToConvex(JSON.parse(JSON.stringify(upstreamToJson(value))))
    // Bytes come back as Uint8Array here, as ArrayBuffer from the convex package: compare re-encoded.
    t.equal(JSON.stringify(upstreamToJson(toArrayBuffers(decoded))), JSON.stringify(upstreamToJson(value)), name)
  }
})

t.test('what townhall encodes, convex/values decodes back', async (t) => {
  for (const [name, value] of samples) {
    const decoded = upstreamFromJson(JSON.parse(JSON.stringify(convexToJson(value))))
    t.same(decoded, value, name)
    if (typeof value === 'number') t.ok(Object.is(decoded, value), `${name} keeps its exact float`)
  }
})

t.test('known encodings, byte for byte', async (t) => {
  t.same(convexToJson(-0), { $float: 'AAAAAAAAAIA=' })
  t.same(convexToJson(Number.NaN), { $float: 'AAAAAAAA+H8=' })
  t.same(convexToJson(Number.POSITIVE_INFINITY), { $float: 'AAAAAAAA8H8=' })
  t.same(convexToJson(1n), { $integer: 'AQAAAAAAAAA=' })
  t.same(convexToJson(-1n), { $integer: '//////////8=' })
  t.same(convexToJson(bytes(1, 2, 3)), { $bytes: 'AQID' })
  t.same(convexToJson(Buffer.from('hi')), { $bytes: 'aGk=' })
  t.same(convexToJson(new ArrayBuffer(2)), { $bytes: 'AAA=' })
  t.equal(convexToJson(-0.5), -0.5)
  t.equal(convexToJson(7), 7)
})

t.test('undefined: left out of objects, null in arrays and at the top', async (t) => {
  t.same(convexToJson({ a: undefined, b: 1 }), { b: 1 })
  t.notOk(Object.hasOwn(convexToJson({ a: undefined }) as object, 'a'))
  t.same(convexToJson([1, undefined, 2]), [1, null, 2])
  t.equal(convexToJson(undefined), null)
})

t.test('decodes bytes to a Uint8Array, integers to bigint, special floats to numbers', async (t) => {
  const out = jsonToConvex({ b: { $bytes: 'AQID' }, i: { $integer: '//////////8=' }, f: { $float: 'AAAAAAAAAIA=' }, n: [{ $float: 'AAAAAAAA+H8=' }] }) as Record<string, unknown>
  t.ok(out.b instanceof Uint8Array)
  t.same([...(out.b as Uint8Array)], [1, 2, 3])
  t.equal(out.i, -1n)
  t.ok(Object.is(out.f, -0))
  t.ok(Number.isNaN((out.n as number[])[0]))
  t.same(jsonToConvex({ a: 'x', b: [1, true, null] }), { a: 'x', b: [1, true, null] })
})

t.test('a "__proto__" field stays an own field', async (t) => {
  const out = jsonToConvex(JSON.parse('{"__proto__": {"polluted": 1}}')) as Record<string, unknown>
  t.equal(Object.getPrototypeOf(out), Object.prototype)
  t.ok(Object.hasOwn(out, '__proto__'))
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

t.test('malformed encodings are BadConvexValueError (400) naming the path', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['bad base64 characters', { engineId: { $bytes: 'A*==' } }, /args\.engineId .*not valid base64/],
    ['base64 of the wrong length', { engineId: { $bytes: 'AAA' } }, /args\.engineId .*not valid base64/],
    ['a non-string payload', { x: { $integer: 5 } }, /args\.x .*not a base64 string/],
    ['an integer of 4 bytes', { x: [0, { $integer: 'AAAAAA==' }] }, /args\.x\[1\] .*4 bytes, not 8/],
    ['a float of 9 bytes', { x: { $float: 'AAAAAAAAAAAA' } }, /args\.x .*9 bytes, not 8/],
    ['a plain float sent as $float', { x: { $float: 'AAAAAAAA8D8=' } }, /args\.x .*plain number/],
    ['an unknown $ key', { x: { $set: [] } }, /args\.x .*"\$set"/],
    ['a $ key beside others', { x: { $bytes: 'AA==', y: 1 } }, /args\.x .*only field/],
    ['a $ field among ordinary ones', { a: { y: 1, $where: 'x' } }, /args\.a .*"\$where"/],
    ['a control character in a field name', { 'a\nb': 1 }, /args .*printable ASCII/],
    ['a non-ASCII field name', { x: { é: 1 } }, /args\.x .*printable ASCII/]
  ]
  for (const [name, json, message] of cases) {
    let err: unknown
    try { jsonToConvex(json) } catch (e) { err = e }
    t.ok(err instanceof BadConvexValueError, `${name}: a BadConvexValueError`)
    const e = err as BadConvexValueError
    t.equal(e.statusCode, 400, `${name}: a 400`)
    t.equal(e.code, 'TOWNHALL_ERR_BAD_ARGUMENTS', `${name}: its code`)
    t.match(e.message, message, `${name}: ${e.message}`)
    // The convex package refuses the same inputs, except bad base64 characters, which it reads as zero bits.
    if (name !== 'bad base64 characters') t.throws(() => upstreamFromJson(json), `${name}: convex/values refuses it too`)
  }
})

t.test('hostile nesting is refused, never a stack overflow', async (t) => {
  let deep: unknown = 1
  for (let i = 0; i < 100_000; i++) deep = [deep]
  t.throws(() => jsonToConvex(deep), BadConvexValueError)
  t.throws(() => jsonToConvex(JSON.parse('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000))), /nested deeper than/)
  t.throws(() => convexToJson(deep), RangeError)
  const cycle: Record<string, unknown> = {}
  cycle.self = cycle
  t.throws(() => convexToJson(cycle), RangeError)

  let ok: unknown = 1
  for (let i = 0; i < MAX_DEPTH; i++) ok = [ok]
  t.doesNotThrow(() => jsonToConvex(ok), `${MAX_DEPTH} levels are fine`)
  t.doesNotThrow(() => convexToJson(ok))
  t.throws(() => jsonToConvex([ok]), `${MAX_DEPTH + 1} are not`)
})

t.test('values Convex cannot hold are refused on the way out, as convex/values does', async (t) => {
  for (const [name, value] of [
    ['a bigint above int64', 2n ** 63n],
    ['a bigint below int64', -(2n ** 63n) - 1n],
    ['a Map', new Map()],
    ['a Set', new Set()],
    ['a Date', new Date(0)],
    ['a class instance', new (class Thing {})()],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a $ field name', { $bytes: 'AA==' }],
    ['a non-ASCII field name', { nested: { é: 1 } }]
  ] as Array<[string, unknown]>) {
    t.throws(() => convexToJson(value), TypeError, name)
    t.throws(() => upstreamToJson(value), `${name}: convex/values refuses it too`)
  }
  t.throws(() => convexToJson({ a: [0, { b: new Map() }] }), /a\[1\]\.b/)
})

function toArrayBuffers (v: unknown): unknown {
  if (v instanceof Uint8Array) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)
  if (Array.isArray(v)) return v.map(toArrayBuffers)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toArrayBuffers(x)]))
  return v
}
